import Akin
import Foundation

/// The models the server embeds with, by name (the file name without `.safetensors`).
struct ServedModel: Sendable {
    let name: String
    let fingerprint: String
    let dimension: Int
    let embedder: EmbeddingBatcher
}

/// The collections of the server's directory (or PostgreSQL database) and the models that embed them. Creating and dropping
/// go through here one at a time; each collection's own work runs on its queue.
actor CollectionShelf {
    let directory: String
    let options: ServerOptions
    let models: [String: ServedModel]
    private var collections: [CollectionName: ServedCollection] = [:]
    /// True once every collection is open and its index loaded (or caught up, or rebuilt).
    private(set) var ready = false

    /// Nothing served: for listing the routes (``API/routes``).
    static var placeholder: CollectionShelf { CollectionShelf(empty: ServerOptions(directory: "/")) }

    private init(empty options: ServerOptions) {
        self.options = options
        directory = options.directory
        models = [:]
    }

    /// Loads the models and opens every gallery of the directory; indexes are loaded by `warmUp`.
    init(options: ServerOptions) throws {
        self.options = options
        directory = options.directory
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            throw ServerError.badDirectory(path: directory, reason: "it is not a folder (make it first: collections are created in it)")
        }
        var models: [String: ServedModel] = [:]
        for file in try Self.modelFiles(in: directory) + options.modelFiles {
            let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            guard CollectionName(name) != nil else {
                throw ServerError.badModel(path: file, reason: "its name must be letters, digits, _ or - (it names the model in requests)")
            }
            guard models[name] == nil else { throw ServerError.badModel(path: file, reason: "another model file is also named \(name)") }
            let model: EmbeddingModel
            do { model = try EmbeddingModel.load(from: file) } catch { throw ServerError.badModel(path: file, reason: "\(error)") }
            models[name] = ServedModel(name: name, fingerprint: model.fingerprint, dimension: model.embeddingDimension,
                                       embedder: EmbeddingBatcher(model: model, name: name, maxBatch: options.embeddingBatch, wait: options.embeddingWait))
        }
        self.models = models
        var collections: [CollectionName: ServedCollection] = [:]
        let names: [String]
        if let database = options.database {
            do { names = try PostgresGalleryStore.collections(in: database) } catch { throw ServerError.badDatabase(reason: "\(error)") }
        } else {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted().filter { $0.hasSuffix(".akin") }.map { String($0.dropLast(5)) }
        }
        for text in names {
            guard let name = CollectionName(text) else { continue }
            let address = Self.address(of: name, options: options)
            let gallery = try Gallery.open(address, lockTimeout: 2)
            collections[name] = try ServedCollection(name: name, gallery: gallery, address: address, directory: directory,
                                                     embedder: Self.model(for: gallery.info, in: models)?.embedder, readers: options.readers)
        }
        self.collections = collections
    }

    /// Where the collection `name` lives: `NAME.akin` in the directory, or the collection NAME of the database.
    private static func address(of name: CollectionName, options: ServerOptions) -> String {
        guard let database = options.database else { return (options.directory as NSString).appendingPathComponent(name.fileName) }
        return database + "?collection=\(name.value)"
    }

    private static func modelFiles(in directory: String) throws -> [String] {
        var files: [String] = []
        for folder in [directory, (directory as NSString).appendingPathComponent("models")] {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            files += names.sorted().filter { $0.hasSuffix(".safetensors") }.map { (folder as NSString).appendingPathComponent($0) }
        }
        return files
    }

    private static func model(for info: GalleryInfo, in models: [String: ServedModel]) -> ServedModel? {
        guard let fingerprint = info.modelFingerprint else { return nil }
        return models.values.first { $0.fingerprint == fingerprint }
    }

    /// The model that embedded a collection, when it is loaded.
    func model(of collection: ServedCollection) -> ServedModel? { Self.model(for: collection.info, in: models) }

    /// Loads every collection's index (catching it up or rebuilding it), then marks the server ready.
    func warmUp() async {
        for collection in collections.values {
            await collection.eachReader { try $0.loadIndex() }
        }
        ready = true
    }

    var all: [ServedCollection] { collections.values.sorted { $0.name.value < $1.name.value } }

    /// The collection named in a request: 422 for a name that cannot be one, 404 for one not served.
    func collection(_ text: String) throws -> ServedCollection {
        let name = try Self.name(text)
        guard let collection = collections[name] else {
            throw APIError.notFound("no collection \(name); GET /v1/collections lists them")
        }
        return collection
    }

    static func name(_ text: String) throws -> CollectionName {
        guard let name = CollectionName(text) else {
            throw APIError.invalid("a collection name is 1…\(CollectionName.maximumLength) letters, digits, _ or -")
        }
        return name
    }

    /// Makes an empty collection, for a loaded model's images or for vectors of `dimension`.
    func create(_ text: String, model modelName: String?, dimension: Int?, similarity: GallerySimilarity) throws -> ServedCollection {
        let name = try Self.name(text)
        guard collections[name] == nil else { throw APIError.conflict("the collection \(name) exists; DELETE it first to make it anew") }
        if options.database != nil, !PostgresAddress.isCollectionName(name.value) {
            throw APIError.invalid("in a PostgreSQL database a collection name is 1…40 lowercase letters, digits or _")
        }
        let path = Self.address(of: name, options: options)
        let gallery: Gallery, embedder: EmbeddingBatcher?
        switch (modelName, dimension) {
        case let (modelName?, nil):
            guard let model = models[modelName] else {
                throw APIError.notFound("no model \(modelName) is loaded; GET /v1/models lists them (loaded: \(models.keys.sorted().joined(separator: ", ")))")
            }
            // From the fingerprint kept at load: computing it hashes every weight, and the model's thread may be using them.
            gallery = Gallery(store: try GalleryAddress(path).create(dimension: model.dimension, modelFingerprint: model.fingerprint, similarity: similarity))
            embedder = model.embedder
        case let (nil, dimension?):
            guard (1...GalleryInfo.maximumDimension).contains(dimension) else {
                throw APIError.invalid("dimension must be 1…\(GalleryInfo.maximumDimension), not \(dimension)")
            }
            gallery = try Gallery.create(at: path, dimension: dimension, similarity: similarity)
            embedder = nil
        default:
            throw APIError.invalid("give either model (to embed images) or dimension (for vectors), not both and not neither")
        }
        let collection = try ServedCollection(name: name, gallery: gallery, address: path, directory: directory, embedder: embedder, readers: options.readers)
        collections[name] = collection
        return collection
    }

    /// Stops serving a collection and deletes its gallery, index and stored images.
    func drop(_ text: String) async throws {
        let collection = try collection(text)
        collections[collection.name] = nil
        await collection.close()
        let address = Self.address(of: collection.name, options: options)
        do { try Gallery.drop(at: address) } catch GalleryStoreError.missing {}  // gone already: what a drop wants
        try? FileManager.default.removeItem(atPath: collection.imagesFolder)
    }

    /// Closes every gallery (after the work queued on each) and stops the embedding threads.
    func close() async {
        for collection in collections.values { await collection.close() }
        collections = [:]
        for model in models.values { model.embedder.stop() }
    }
}
