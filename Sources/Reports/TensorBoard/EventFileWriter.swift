import Foundation

/// Writes TensorBoard event files: TFRecords (length, masked CRC-32C of the length, the record,
/// its masked CRC-32C) each holding one `Event` protocol buffer. Scalars go in as
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
        var event = ProtobufWriter()
        event.double(1, now)
        event.int64(2, 0)
        event.string(3, "brain.Event:2")
        record(event.bytes)
    }

    deinit { try? handle.close() }

    public func scalars(_ values: [(tag: String, value: Float)], step: Int, wallTime: Double = Date().timeIntervalSince1970) {
        event(step: step, wallTime: wallTime) { summary in
            for (tag, value) in values {
                summary.message(1) { v in
                    v.string(1, tag)
                    v.float(2, value)
                }
            }
        }
    }

    public func histogram(_ tag: String, _ histogram: Histogram, step: Int, wallTime: Double = Date().timeIntervalSince1970) {
        event(step: step, wallTime: wallTime) { summary in
            summary.message(1) { v in
                v.string(1, tag)
                v.message(5) { h in
                    h.double(1, histogram.min)
                    h.double(2, histogram.max)
                    h.double(3, histogram.count)
                    h.double(4, histogram.sum)
                    h.double(5, histogram.sumOfSquares)
                    h.packedDoubles(6, histogram.bucketLimits)
                    h.packedDoubles(7, histogram.bucketCounts)
                }
            }
        }
    }

    /// Each record is written straight to the file (no buffer), so TensorBoard sees it while
    /// training goes on; this also pushes it to the disk.
    public func flush() { try? handle.synchronize() }

    private func event(step: Int, wallTime: Double, summary build: (inout ProtobufWriter) -> Void) {
        var event = ProtobufWriter()
        event.double(1, wallTime)
        event.int64(2, Int64(step))
        event.message(5, build)
        record(event.bytes)
    }

    private func record(_ data: [UInt8]) {
        var length = UInt64(data.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Array($0) }
        var out = lengthBytes
        withUnsafeBytes(of: CRC32C.masked(lengthBytes).littleEndian) { out += $0 }
        out += data
        withUnsafeBytes(of: CRC32C.masked(data).littleEndian) { out += $0 }
        handle.write(Data(out))
    }
}

/// A histogram of values as TensorBoard's HistogramProto holds it: bucket i counts the values in
/// (bucketLimits[i − 1], bucketLimits[i]].
public struct Histogram: Sendable, Equatable {
    public var min: Double, max: Double, count: Double, sum: Double, sumOfSquares: Double
    public var bucketLimits: [Double]
    public var bucketCounts: [Double]

    /// `buckets` equal-width buckets between the smallest and the largest value.
    public init(_ values: UnsafeBufferPointer<Float>, buckets: Int = 30) {
        var low = Double.infinity, high = -Double.infinity, sum = 0.0, squares = 0.0
        for v in values {
            let d = Double(v)
            low = Swift.min(low, d); high = Swift.max(high, d); sum += d; squares += d * d
        }
        if values.isEmpty { low = 0; high = 0 }
        let width = high > low ? (high - low) / Double(buckets) : 1
        var counts = [Double](repeating: 0, count: buckets)
        for v in values {
            let b = Swift.min(buckets - 1, Swift.max(0, Int(((Double(v) - low) / width).rounded(.up)) - 1))
            counts[b] += 1
        }
        self.min = low
        self.max = high
        count = Double(values.count)
        self.sum = sum
        sumOfSquares = squares
        bucketLimits = (1...buckets).map { low + Double($0) * width }
        bucketLimits[buckets - 1] = Swift.max(high, low + width * Double(buckets))
        bucketCounts = counts
    }
}
