import Foundation
import Tensors

public enum NetworkFileError: Error, CustomStringConvertible {
    case notAModel(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notAModel(path, reason): return "\(path) is not an akin model: \(reason). Train one with `akin train`."
        }
    }
}

/// A network's weights in the safetensors format, named as the parameters are
/// ("layers.0.weight", …), with the architecture as JSON under the metadata key "akin.architecture".
public enum NetworkFile {
    public static let architectureKey = "akin.architecture"

    public static func contents(of network: Sequential, architecture: Architecture,
                                metadata: [String: String] = [:]) throws -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: metadata)
        for parameter in network.parameters + network.buffers { file.tensors[parameter.name] = parameter.value }
        file.metadata[architectureKey] = String(decoding: try JSONEncoder.sorted.encode(architecture), as: UTF8.self)
        return file
    }

    public static func architecture(in file: SafeTensorsFile, path: String) throws -> Architecture {
        guard let json = file.metadata[architectureKey] else {
            throw NetworkFileError.notAModel(path: path, reason: "its metadata has no \(architectureKey)")
        }
        let architecture: Architecture
        do { architecture = try JSONDecoder().decode(Architecture.self, from: Data(json.utf8)) } catch {
            throw NetworkFileError.notAModel(path: path, reason: "its architecture does not parse (\(error))")
        }
        if let problem = architecture.problem {
            throw NetworkFileError.notAModel(path: path, reason: "its architecture cannot be built: \(problem)")
        }
        return architecture
    }

    /// Copies the file's tensors into a network built from the same architecture.
    public static func loadWeights(from file: SafeTensorsFile, into network: Sequential, path: String) throws {
        for parameter in network.parameters + network.buffers {
            let stored = try file.tensor(parameter.name, in: path)
            guard stored.shape == parameter.value.shape else {
                throw NetworkFileError.notAModel(path: path, reason: "\(parameter.name) has shape \(stored.shape), the architecture needs \(parameter.value.shape)")
            }
            parameter.value.copy(from: stored)
        }
    }

    /// A short identity for a set of weights and architecture: FNV-1a 64 over the architecture
    /// JSON and every parameter's bytes. Galleries record it to refuse vectors from another model.
    public static func fingerprint(of network: Sequential, architecture: Architecture) -> String {
        var hash = FNV1a()
        let json = (try? JSONEncoder.sorted.encode(architecture)) ?? Data()
        json.withUnsafeBytes { hash.mix($0) }
        for parameter in network.parameters + network.buffers {
            hash.mix(UnsafeRawBufferPointer(start: parameter.value.pointer, count: parameter.value.count * 4))
        }
        return hash.hex
    }
}

extension JSONEncoder {
    public static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
