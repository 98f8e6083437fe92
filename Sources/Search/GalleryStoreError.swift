/// What can go wrong with a gallery file, each saying what to do about it.
public enum GalleryStoreError: Error, CustomStringConvertible {
    case missing(String)
    case exists(String)
    case cannotOpen(path: String, reason: String)
    case notAGallery(path: String, reason: String)
    case badDimension(path: String, dimension: Int)
    case wrongDimension(path: String, expected: Int, got: Int, what: String)
    case wrongModel(path: String, galleryModel: String?, model: String)
    case badVector(item: Int, reason: String)
    case badMetadata(item: Int, reason: String)
    case empty(String)
    case locked(path: String, seconds: Double)
    /// A gallery address that cannot be read.
    case badAddress(String, reason: String)
    /// The PostgreSQL server could not be reached or refused the connection.
    case cannotConnect(path: String, reason: String)
    /// The database refused or failed a request (PostgreSQL's own message in `reason`).
    case database(path: String, reason: String)
    /// What this store cannot do, and what to do instead.
    case notSupported(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missing(path): return "\(path) does not exist. Make a gallery with `akin embed` or `akin gallery create`."
        case let .exists(path): return "\(path) already exists; drop it first (`akin gallery drop`), or add to it with `akin gallery add`."
        case let .cannotOpen(path, reason): return "cannot open the gallery \(path): \(reason). Check the path and its permissions."
        case let .notAGallery(path, reason): return "\(path) is not an akin gallery: \(reason)."
        case let .badDimension(path, dimension): return "\(path): a gallery's dimension must be 1 to \(GalleryInfo.maximumDimension), not \(dimension)."
        case let .wrongDimension(path, expected, got, what):
            return "\(path) holds \(expected)-d vectors but \(what) are \(got)-d; use vectors of the gallery's size."
        case let .wrongModel(path, gallery?, model):
            return "\(path) was embedded with model \(gallery), not with this model (\(model)); vectors of different models cannot be compared. Re-embed the gallery with `akin embed --model …`, or search with the model that built it."
        case let .wrongModel(path, nil, model):
            return "\(path) holds vectors brought from elsewhere, not made by an akin model (this one is \(model)); search it with `--vectors`, or embed a gallery with this model."
        case let .badVector(item, reason): return "vector \(item) cannot be added: \(reason). Nothing was added."
        case let .badMetadata(item, reason): return "item \(item)'s metadata cannot be stored: \(reason). Nothing was added."
        case let .locked(path, seconds):
            return "\(path) is being written by another process, which held its lock for more than \(String(format: "%g", seconds)) s; try again when it has finished"
        case let .badAddress(address, reason): return "the gallery address \(address) cannot be used: \(reason)."
        case let .cannotConnect(path, reason): return "cannot connect to the database of \(path): \(reason); is the server running, and does it accept this user?"
        case let .database(path, reason): return "the database of \(path) answered: \(reason)"
        case let .notSupported(path, reason): return "\(path): \(reason)"
        case let .empty(path): return "\(path) holds no items; add some with `akin gallery add` or `akin embed`."
        }
    }
}
