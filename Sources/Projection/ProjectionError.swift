/// Why a projection could not be computed, and what to do about it.
public enum ProjectionError: Error, CustomStringConvertible, Equatable {
    case tooFewPoints(needed: Int, got: Int, method: String)
    case tooManyComponents(requested: Int, dimension: Int)
    case notFinite(row: Int)
    case lapack(routine: String, info: Int)
    case invalidOption(String)

    public var description: String {
        switch self {
        case let .tooFewPoints(needed, got, method):
            return "\(method) needs at least \(needed) points, got \(got); give more images (or a larger --sample)"
        case let .tooManyComponents(requested, dimension):
            return "PCA: \(requested) components asked of \(dimension)-dimensional vectors; ask for at most \(dimension)"
        case let .notFinite(row):
            return "vector \(row) holds a NaN or infinite value; the model that made it is broken — retrain or check the model file"
        case let .lapack(routine, info):
            return "LAPACK's \(routine) failed (info \(info)); the vectors may be degenerate (all identical?)"
        case let .invalidOption(reason):
            return reason
        }
    }
}
