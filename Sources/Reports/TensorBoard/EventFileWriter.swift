import Foundation
import SwiftProtobuf

/// Writes TensorBoard event files: TFRecords (length, masked CRC-32C of the length, the record,
/// its masked CRC-32C) each holding one `Event` protocol buffer, encoded by swift-protobuf from
/// protos/tensorboard (scripts/generate_protos.sh). Scalars go in as
/// `Summary.Value.simple_value`, histograms as `HistogramProto`, which TensorBoard's readers
/// (EventAccumulator, the scalars and histograms dashboards) understand.
public final class EventFileWriter {
    public let path: String
    private let handle: FileHandle

    /// Creates `directory` if needed and a new file in it named as TensorFlow names them
    /// (events.out.tfevents.<seconds>.<host>), then writes the file-version event.
    public init(directory: String) throws(ReportError) {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .write(path: directory, reason: (error as NSError).localizedDescription)
        }
        let now = Date().timeIntervalSince1970
        var name = "events.out.tfevents.\(Int(now)).\(ProcessInfo.processInfo.hostName)"
        // Two writers in the same second (a quick resume) must not share a file.
        var suffix = 1
        while FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(name)) {
            name = "events.out.tfevents.\(Int(now)).\(ProcessInfo.processInfo.hostName).\(suffix)"
            suffix += 1
        }
        path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw .write(path: path, reason: "the file cannot be created; check the folder's permissions")
        }
        self.handle = handle
        var event = Tensorboard_Event()
        event.wallTime = now
        event.fileVersion = "brain.Event:2"
        record(event)
    }

    deinit { try? handle.close() }

    public func scalars(_ values: [(tag: String, value: Float)], step: Int, wallTime: Double = Date().timeIntervalSince1970) {
        var summary = Tensorboard_Summary()
        summary.value = values.map { tag, value in
            var v = Tensorboard_Summary.Value()
            v.tag = tag
            v.simpleValue = value
            return v
        }
        event(step: step, wallTime: wallTime) { $0.summary = summary }
    }

    public func histogram(_ tag: String, _ histogram: Histogram, step: Int, wallTime: Double = Date().timeIntervalSince1970) {
        var proto = Tensorboard_HistogramProto()
        proto.min = histogram.min
        proto.max = histogram.max
        proto.num = histogram.count
        proto.sum = histogram.sum
        proto.sumSquares = histogram.sumOfSquares
        proto.bucketLimit = histogram.bucketLimits
        proto.bucket = histogram.bucketCounts
        var value = Tensorboard_Summary.Value()
        value.tag = tag
        value.histo = proto
        var summary = Tensorboard_Summary()
        summary.value = [value]
        event(step: step, wallTime: wallTime) { $0.summary = summary }
    }

    /// Marks a (re)start at `step`. TensorBoard's readers then drop every event they hold at `step`
    /// or later from earlier files of the run, so a run resumed from a checkpoint shows each step
    /// once, from the resumed run, with no line running backwards.
    public func sessionStart(step: Int, wallTime: Double = Date().timeIntervalSince1970) {
        var log = Tensorboard_SessionLog()
        log.status = .start
        event(step: step, wallTime: wallTime) { $0.sessionLog = log }
    }

    /// Each record is written straight to the file (no buffer), so TensorBoard sees it while
    /// training goes on; this also pushes it to the disk.
    public func flush() { try? handle.synchronize() }

    private func event(step: Int, wallTime: Double, _ fill: (inout Tensorboard_Event) -> Void) {
        var event = Tensorboard_Event()
        event.wallTime = wallTime
        event.step = Int64(step)
        fill(&event)
        record(event)
    }

    private func record(_ event: Tensorboard_Event) {
        // Encoding fails only for proto2 messages missing required fields or for Any fields that
        // cannot be transcoded; these proto3 messages have neither.
        let data: [UInt8] = try! event.serializedBytes()
        var length = UInt64(data.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Array($0) }
        var out = lengthBytes
        withUnsafeBytes(of: CRC32C.masked(lengthBytes).littleEndian) { out += $0 }
        out += data
        withUnsafeBytes(of: CRC32C.masked(data).littleEndian) { out += $0 }
        handle.write(Data(out))
    }
}
