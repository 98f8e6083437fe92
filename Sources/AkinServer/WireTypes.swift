import Akin
import Foundation

// The JSON bodies of the API, named as /openapi.yaml names them (snake_case).

/// `filter: {label: {in: [...], not_in: [...]}}`.
struct FilterBody: Decodable, Sendable {
    var label: LabelCondition?

    enum CodingKeys: String, CodingKey, CaseIterable { case label }
    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self)
        label = try c.decodeIfPresent(LabelCondition.self, forKey: .label)
    }

    struct LabelCondition: Decodable, Sendable {
        var only: [String]?
        var excluding: [String]?

        enum CodingKeys: String, CodingKey, CaseIterable { case only = "in", excluding = "not_in" }
        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(CodingKeys.self)
            only = try c.decodeIfPresent([String].self, forKey: .only)
            excluding = try c.decodeIfPresent([String].self, forKey: .excluding)
        }
    }

    /// The filter; a `label` naming neither `in` nor `not_in` is refused (it would admit everything).
    var labels: LabelFilter {
        get throws {
            guard let label else { throw APIError.invalid("filter needs label: {in: [...]} or {not_in: [...]}") }
            guard label.only != nil || label.excluding != nil else { throw APIError.invalid("filter.label needs in or not_in") }
            return LabelFilter(only: label.only.map(Set.init), excluding: Set(label.excluding ?? []))
        }
    }
}

/// JSON numbers as float32, refusing those past its range (a JSON number may be any size; 422, not 400).
enum Float32Values {
    static func convert(_ values: [Double], field: String) throws -> [Float] {
        try values.enumerated().map { i, value in
            guard value.isFinite, abs(value) <= Double(Float.greatestFiniteMagnitude) else {
                throw APIError.invalid("\(field)[\(i)] is \(value), outside float32's range")
            }
            return Float(value)
        }
    }

    static func convert(_ value: Double?, field: String) throws -> Float? {
        try value.map { try convert([$0], field: field)[0] }
    }
}

/// One query: a vector, or the id of a stored item.
struct QueryBody: Decodable, Sendable {
    var vector: [Double]?
    var id: Int?

    enum CodingKeys: String, CodingKey, CaseIterable { case vector, id }
    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self)
        vector = try c.decodeIfPresent([Double].self, forKey: .vector)
        id = try c.decodeIfPresent(Int.self, forKey: .id)
    }

    func query(at place: String) throws -> GalleryQuery {
        switch (vector, id) {
        case let (vector?, nil): return .vector(try Float32Values.convert(vector, field: "\(place).vector"))
        case let (nil, id?): return .item(id)
        default: throw APIError.invalid("\(place): give either vector or id")
        }
    }
}

/// `POST /v1/collections/{c}/search`.
struct SearchBody: Decodable, Sendable {
    var vector: [Double]?
    var id: Int?
    var queries: [QueryBody]?
    var options: SearchKnobs

    enum CodingKeys: String, CodingKey, CaseIterable {
        case vector, id, queries, k, offset, scoreThreshold = "score_threshold", filter, groupByLabel = "group_by_label"
        case exact, ef, probe, threshold
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self)
        vector = try c.decodeIfPresent([Double].self, forKey: .vector)
        id = try c.decodeIfPresent(Int.self, forKey: .id)
        queries = try c.decodeIfPresent([QueryBody].self, forKey: .queries)
        options = SearchKnobs(k: try c.decodeIfPresent(Int.self, forKey: .k), offset: try c.decodeIfPresent(Int.self, forKey: .offset),
                              scoreThreshold: try c.decodeIfPresent(Double.self, forKey: .scoreThreshold),
                              labels: try c.decodeIfPresent(FilterBody.self, forKey: .filter).map { try $0.labels },
                              groupByLabel: try c.decodeIfPresent(Bool.self, forKey: .groupByLabel),
                              exact: try c.decodeIfPresent(Bool.self, forKey: .exact), ef: try c.decodeIfPresent(Int.self, forKey: .ef),
                              probe: try c.decodeIfPresent(Int.self, forKey: .probe), threshold: try c.decodeIfPresent(Double.self, forKey: .threshold))
    }

    /// The queries asked, and whether they came as `queries: [...]` (answered as a list).
    func asked(maxBatch: Int) throws -> (queries: [GalleryQuery], many: Bool) {
        let single: GalleryQuery?
        switch (vector, id) {
        case (nil, nil): single = nil
        case let (vector?, nil): single = .vector(try Float32Values.convert(vector, field: "vector"))
        case let (nil, id?): single = .item(id)
        default: throw APIError.invalid("give either vector or id, not both")
        }
        switch (single, queries) {
        case let (single?, nil): return ([single], false)
        case let (nil, queries?):
            guard !queries.isEmpty, queries.count <= maxBatch else { throw APIError.invalid("queries must hold 1…\(maxBatch) queries, not \(queries.count)") }
            return (try queries.enumerated().map { try $1.query(at: "queries[\($0)]") }, true)
        default: throw APIError.invalid("give vector, id, or queries: [...]")
        }
    }
}

/// The search options shared by vector and image search, as the request gave them.
struct SearchKnobs: Sendable {
    var k: Int?
    var offset: Int?
    var scoreThreshold: Double?
    var labels: LabelFilter?
    var groupByLabel: Bool?
    var exact: Bool?
    var ef: Int?
    var probe: Int?
    var threshold: Double?

    static let defaultK = 10

    var options: SearchOptions {
        get throws {
            SearchOptions(k: k ?? Self.defaultK, offset: offset ?? 0,
                          minimumSimilarity: try Float32Values.convert(scoreThreshold, field: "score_threshold"), labels: labels,
                          groupByLabel: groupByLabel ?? false, exact: exact ?? false, efSearch: ef, probe: probe,
                          threshold: try Float32Values.convert(threshold, field: "threshold"))
        }
    }
}

/// One answer of a search.
struct ResultBody: Encodable, Sendable {
    var match: Bool
    var threshold: Float?
    var hits: [HitBody]

    init(_ result: SearchResult) {
        match = result.match
        threshold = result.threshold
        hits = result.hits.map(HitBody.init)
    }

    enum CodingKeys: String, CodingKey { case match, threshold, hits }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(match, forKey: .match)
        try c.encode(threshold, forKey: .threshold)   // null when none is set, rather than absent
        try c.encode(hits, forKey: .hits)
    }
}

struct HitBody: Encodable, Sendable {
    var id: Int
    var label: String
    var path: String
    var similarity: Float
    var payload: JSONValue?

    init(_ hit: GalleryHit) {
        id = hit.id
        label = hit.label
        path = hit.path
        similarity = hit.similarity
        payload = JSONValue.parse(hit.metadata)
    }
}

struct ManyResultsBody: Encodable, Sendable {
    var results: [ResultBody]
}

/// `PUT /v1/collections/{c}`.
struct CreateCollectionBody: Decodable, Sendable {
    var model: String?
    var dimension: Int?
    var similarity: String?

    enum CodingKeys: String, CodingKey, CaseIterable { case model, dimension, similarity }
    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        dimension = try c.decodeIfPresent(Int.self, forKey: .dimension)
        similarity = try c.decodeIfPresent(String.self, forKey: .similarity)
    }
}

/// One item of `PUT /v1/collections/{c}/items`: a vector or an image (base64), with label and payload.
struct NewItemBody: Decodable, Sendable {
    var vector: [Double]?
    var imageBase64: String?
    var label: String?
    var payload: JSONValue?

    enum CodingKeys: String, CodingKey, CaseIterable { case vector, imageBase64 = "image_base64", label, payload }
    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self)
        vector = try c.decodeIfPresent([Double].self, forKey: .vector)
        imageBase64 = try c.decodeIfPresent(String.self, forKey: .imageBase64)
        label = try c.decodeIfPresent(String.self, forKey: .label)
        payload = try c.decodeIfPresent(JSONValue.self, forKey: .payload)
    }
}

struct NewItemsBody: Decodable, Sendable {
    var items: [NewItemBody]

    enum CodingKeys: String, CodingKey, CaseIterable { case items }
    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self)
        items = try c.decode([NewItemBody].self, forKey: .items)
    }
}

/// `POST /v1/collections/{c}/items/delete`: by ids or by a label filter.
struct DeleteItemsBody: Decodable, Sendable {
    var ids: [Int]?
    var filter: FilterBody?

    enum CodingKeys: String, CodingKey, CaseIterable { case ids, filter }
    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self)
        ids = try c.decodeIfPresent([Int].self, forKey: .ids)
        filter = try c.decodeIfPresent(FilterBody.self, forKey: .filter)
    }
}

/// `POST /v1/embed?model=NAME` as JSON.
struct EmbedBody: Decodable, Sendable {
    var imageBase64: String

    enum CodingKeys: String, CodingKey, CaseIterable { case imageBase64 = "image_base64" }
    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self)
        imageBase64 = try c.decode(String.self, forKey: .imageBase64)
    }
}

struct ItemBody: Encodable, Sendable {
    var id: Int
    var label: String
    var path: String
    var added: String
    var payload: JSONValue?
    var vector: [Float]?

    init(_ item: StoredItem, vector: [Float]? = nil) {
        id = item.id
        label = item.label
        path = item.path
        added = ISO8601DateFormatter().string(from: item.added)
        payload = JSONValue.parse(item.metadata)
        self.vector = vector
    }
}

struct CollectionBody: Encodable, Sendable {
    var name: String
    var items: Int
    var dimension: Int
    var similarity: String
    var model: String?
    var modelFingerprint: String?
    var modelLoaded: Bool
    var threshold: Float?
    var index: IndexBody
    var labels: [LabelCount]

    struct IndexBody: Encodable, Sendable {
        var kind: String
        /// "none", "up_to_date", "stale", "unusable".
        var freshness: String
        var reason: String?
    }

    struct LabelCount: Encodable, Sendable {
        var label: String
        var count: Int
    }

    enum CodingKeys: String, CodingKey {
        case name, items, dimension, similarity, model, modelFingerprint = "model_fingerprint", modelLoaded = "model_loaded", threshold, index, labels
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(items, forKey: .items)
        try c.encode(dimension, forKey: .dimension)
        try c.encode(similarity, forKey: .similarity)
        try c.encode(model, forKey: .model)
        try c.encode(modelFingerprint, forKey: .modelFingerprint)
        try c.encode(modelLoaded, forKey: .modelLoaded)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(index, forKey: .index)
        try c.encode(labels, forKey: .labels)
    }
}
