/// Why `akin serve` cannot start.
public enum ServerError: Error, CustomStringConvertible {
    case badAPIKeys(path: String, reason: String)
    case exposedWithoutKeys(host: String)
    case badDirectory(path: String, reason: String)
    case badModel(path: String, reason: String)
    case badDatabase(reason: String)

    public var description: String {
        switch self {
        case let .badAPIKeys(path, reason): return "the API keys file \(path) cannot be used: \(reason)"
        case let .exposedWithoutKeys(host):
            return "\(host) is not a loopback address: serving it without keys would let anyone change the collections. Pass --api-keys FILE, or serve 127.0.0.1"
        case let .badDirectory(path, reason): return "cannot serve \(path): \(reason)"
        case let .badModel(path, reason): return "cannot load the model \(path): \(reason)"
        case let .badDatabase(reason): return "cannot serve the PostgreSQL database: \(reason)"
        }
    }
}
