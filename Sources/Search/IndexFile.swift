import CZlib
import Foundation
import Tensors

public enum IndexFileError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case truncated
    case corrupt(path: String, reason: String)
    case unknownKind(String)
    /// What a well-formed file of the kind cannot hold, found while decoding it (`corrupt` once the path is known).
    case malformed(String)
    case stale(path: String, built: Int64, now: Int64)
    case otherGallery(path: String)

    public var description: String {
        switch self {
        case let .missing(path): return "index file \(path) does not exist"
        case .truncated: return "the index file ends too early"
        case let .malformed(reason): return "the index file is inconsistent: \(reason)"
        case let .corrupt(path, reason): return "index file \(path) is damaged (\(reason))"
        case let .unknownKind(kind): return "index kind \(kind) is not known; use one of \(IndexKind.allCases.map(\.rawValue).joined(separator: ", "))"
        case let .stale(path, built, now): return "index file \(path) was built at gallery change \(built), the gallery is at change \(now)"
        case let .otherGallery(path): return "index file \(path) was built from another gallery"
        }
    }
}

/// An index on disk: magic, format version, kind, dimension and the gallery state it was built
/// from, then the index's own bytes, then a CRC-32 of everything before it. Written whole or not
/// at all (AtomicFile); any damaged byte fails the checksum, so a bad file is rebuilt, never trusted.
public enum IndexFile {
    static let magic = Array("AKINIDX\0".utf8)
    static let version: UInt32 = 1
    /// The largest dimension an index file may declare: a gallery's largest.
    public static let maximumDimension = GalleryInfo.maximumDimension

    public static func encode(_ index: any VectorIndex, state: GalleryState) -> Data {
        var writer = BinaryWriter()
        for byte in magic { writer.write(byte) }
        writer.write(version)
        writer.write(type(of: index).kind.rawValue)
        writer.write(UInt32(index.dimension))
        writer.write(state.uuid)
        writer.write(state.generation)
        index.encode(into: &writer)
        return sealed(writer.data)
    }

    /// `body` with its CRC-32 appended, as `decode` expects it. A checksum stops damage, not
    /// malice: anyone can seal a body, so `decode` checks the structure too (the index fuzzer
    /// seals what it makes up to get past the checksum).
    public static func sealed(_ body: Data) -> Data {
        var data = body
        withUnsafeBytes(of: checksum(of: body).littleEndian) { data.append(contentsOf: $0) }
        return data
    }

    public static func save(_ index: any VectorIndex, state: GalleryState, to path: String) throws {
        try AtomicFile.write(encode(index, state: state), to: path)
    }

    /// Reads and verifies an index file; the state it records is returned for the caller to compare.
    public static func load(from path: String) throws -> (index: any VectorIndex, state: GalleryState) {
        guard let data = FileManager.default.contents(atPath: path) else { throw IndexFileError.missing(path) }
        return try decode(data, path: path)
    }

    public static func decode(_ data: Data, path: String) throws -> (index: any VectorIndex, state: GalleryState) {
        guard data.count >= magic.count + 8, data.prefix(magic.count).elementsEqual(magic) else {
            throw IndexFileError.corrupt(path: path, reason: "it does not start with the akin index mark")
        }
        let body = data.prefix(data.count - 4)
        let stored = data.suffix(4).withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        guard checksum(of: body) == stored else { throw IndexFileError.corrupt(path: path, reason: "checksum mismatch") }
        var reader = BinaryReader(body.dropFirst(magic.count))
        do {
            let version = try reader.read(UInt32.self)
            guard version == Self.version else {
                throw IndexFileError.corrupt(path: path, reason: "format version \(version), this akin reads \(Self.version)")
            }
            let name = try reader.readString()
            guard let type = IndexKind(rawValue: name)?.indexType else { throw IndexFileError.unknownKind(name) }
            let dimension = Int(try reader.read(UInt32.self))
            guard (1...maximumDimension).contains(dimension) else {
                throw IndexFileError.corrupt(path: path, reason: "dimension \(dimension) is outside 1…\(maximumDimension)")
            }
            let state = GalleryState(uuid: try reader.readString(), generation: try reader.read(Int64.self))
            let index = try type.decode(from: &reader, dimension: dimension)
            guard reader.remaining == 0 else { throw IndexFileError.corrupt(path: path, reason: "\(reader.remaining) bytes left over") }
            return (index, state)
        } catch IndexFileError.truncated {
            throw IndexFileError.corrupt(path: path, reason: "it ends too early")
        } catch let IndexFileError.malformed(reason) {
            throw IndexFileError.corrupt(path: path, reason: reason)
        }
    }

    static func checksum(of data: Data) -> UInt32 {
        data.withUnsafeBytes { raw in
            var crc: uLong = crc32(0, nil, 0)
            var offset = 0
            // zlib takes a 32-bit length; large indexes go through in pieces.
            while offset < raw.count {
                let piece = min(raw.count - offset, 1 << 30)
                crc = crc32(crc, raw.baseAddress!.assumingMemoryBound(to: Bytef.self) + offset, uInt(piece))
                offset += piece
            }
            return UInt32(crc)
        }
    }
}
