/// The OpenAPI 3.1 description of every endpoint, served at `/openapi.yaml`. A test checks that
/// its paths and methods are exactly the server's routes, and schemathesis fuzzes the server from it.
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.1.0
info:
  title: Akin
  version: "1"
  description: >
    Learned image similarity as a service. Optional fields are left out, never sent as null. Each collection is a gallery of items (a vector, a
    label, an optional JSON payload, and for items added as images the image itself); a
    collection made for a model embeds images with it. Errors are
    `{"error": code, "detail": text}`. With an API-keys file, requests carry
    `Authorization: Bearer KEY`: read keys search and list, admin keys also change.
servers:
  - url: /
security:
  - bearer: []
paths:
  /:
    get:
      summary: The search page
      security: []
      responses:
        "200": {description: HTML, content: {text/html: {schema: {type: string}}}}
  /healthz:
    get:
      summary: Alive
      security: []
      responses:
        "200": {description: Alive, content: {application/json: {schema: {$ref: "#/components/schemas/Status"}}}}
  /readyz:
    get:
      summary: Ready (collections open, models loaded, indexes loaded or caught up)
      security: []
      responses:
        "200": {description: Ready, content: {application/json: {schema: {$ref: "#/components/schemas/Status"}}}}
        "503": {$ref: "#/components/responses/Error"}
  /openapi.yaml:
    get:
      summary: This document
      security: []
      responses:
        "200": {description: OpenAPI 3.1, content: {application/yaml: {schema: {type: string}}}}
  /metrics:
    get:
      summary: Prometheus metrics
      responses:
        "200": {description: Prometheus text format, content: {text/plain: {schema: {type: string}}}}
        "401": {$ref: "#/components/responses/Error"}
  /v1/models:
    get:
      summary: The models the server embeds with
      responses:
        "200":
          description: Models
          content:
            application/json:
              schema:
                type: object
                required: [models]
                properties:
                  models: {type: array, items: {$ref: "#/components/schemas/Model"}}
        "401": {$ref: "#/components/responses/Error"}
  /v1/embed:
    post:
      summary: An image's embedding by a named model
      parameters:
        - {name: model, in: query, required: true, schema: {$ref: "#/components/schemas/Name"}, description: The model, as GET /v1/models names it}
      requestBody:
        required: true
        content:
          image/jpeg: {schema: {type: string, format: binary}}
          image/png: {schema: {type: string, format: binary}}
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [image_base64]
              properties:
                image_base64: {type: string, contentEncoding: base64, minLength: 1}
      responses:
        "200":
          description: The unit-length embedding
          content:
            application/json:
              schema:
                type: object
                required: [model, vector]
                properties:
                  model: {type: string}
                  vector: {type: array, items: {type: number}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
  /v1/collections:
    get:
      summary: Every collection
      responses:
        "200":
          description: Collections
          content:
            application/json:
              schema:
                type: object
                required: [collections]
                properties:
                  collections: {type: array, items: {$ref: "#/components/schemas/Collection"}}
        "401": {$ref: "#/components/responses/Error"}
  /v1/collections/{collection}:
    parameters:
      - $ref: "#/components/parameters/Collection"
    get:
      summary: A collection's items, dimension, similarity, model, threshold, index and labels
      responses:
        "200": {description: The collection, content: {application/json: {schema: {$ref: "#/components/schemas/Collection"}}}}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
    put:
      summary: Create an empty collection, for a model's images or for vectors of a dimension
      requestBody:
        required: true
        content:
          application/json:
            schema:
              oneOf:
                - type: object
                  description: For a loaded model's images
                  additionalProperties: false
                  required: [model]
                  properties:
                    model: {$ref: "#/components/schemas/Name"}
                    similarity: {type: string, enum: [cosine, inner-product]}
                - type: object
                  description: For vectors of a dimension
                  additionalProperties: false
                  required: [dimension]
                  properties:
                    dimension: {type: integer, minimum: 1, maximum: 65536}
                    similarity: {type: string, enum: [cosine, inner-product]}
      responses:
        "201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/Collection"}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
    delete:
      summary: Drop a collection with its index and stored images
      responses:
        "200":
          description: Dropped
          content: {application/json: {schema: {type: object, required: [dropped], properties: {dropped: {type: string}}}}}
        "401": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
  /v1/collections/{collection}/snapshot:
    parameters:
      - $ref: "#/components/parameters/Collection"
    post:
      summary: A consistent copy of the gallery, made while it serves, in the server's snapshots folder
      responses:
        "201":
          description: The copy, relative to the server's folder
          content:
            application/json:
              schema:
                type: object
                required: [snapshot, bytes]
                properties:
                  snapshot: {type: string}
                  bytes: {type: integer}
        "401": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
  /v1/collections/{collection}/search:
    parameters:
      - $ref: "#/components/parameters/Collection"
    post:
      summary: Search by vector, by stored item id, or several queries at once
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties:
                vector: {$ref: "#/components/schemas/Vector"}
                id: {type: integer, minimum: 0, maximum: 9223372036854775807, description: Search with a stored item's vector; the item itself is left out}
                queries:
                  type: array
                  minItems: 1
                  items:
                    type: object
                    additionalProperties: false
                    properties:
                      vector: {$ref: "#/components/schemas/Vector"}
                      id: {type: integer, minimum: 0, maximum: 9223372036854775807}
                    oneOf:
                      - required: [vector]
                      - required: [id]
                k: {type: integer, minimum: 1, maximum: 10000, default: 10}
                offset: {type: integer, minimum: 0, maximum: 100000, default: 0}
                score_threshold: {type: number, minimum: -3.4028234663852886e+38, maximum: 3.4028234663852886e+38, description: Hits less similar than this are left out}
                filter: {$ref: "#/components/schemas/Filter"}
                group_by_label: {type: boolean, description: The best hit of each label only}
                exact: {type: boolean, description: Search every item exactly, ignoring the index}
                ef: {type: integer, minimum: 1, maximum: 100000, description: HNSW candidates for this search}
                probe: {type: integer, minimum: 1, maximum: 100000, description: IVF-PQ cells visited for this search}
                threshold: {type: number, minimum: -3.4028234663852886e+38, maximum: 3.4028234663852886e+38, description: Judge match by this instead of the calibrated threshold}
              oneOf:
                - required: [vector]
                - required: [id]
                - required: [queries]
      responses:
        "200":
          description: One result, or `results` for `queries`
          content:
            application/json:
              schema:
                oneOf:
                  - $ref: "#/components/schemas/Result"
                  - type: object
                    required: [results]
                    properties:
                      results: {type: array, items: {$ref: "#/components/schemas/Result"}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
  /v1/collections/{collection}/search/image:
    parameters:
      - $ref: "#/components/parameters/Collection"
    post:
      summary: Search with an image, embedded by the collection's model
      parameters:
        - {name: k, in: query, schema: {type: integer, minimum: 1, maximum: 10000}}
        - {name: offset, in: query, schema: {type: integer, minimum: 0, maximum: 100000}}
        - {name: score_threshold, in: query, schema: {type: number, minimum: -3.4028234663852886e+38, maximum: 3.4028234663852886e+38}}
        - {name: label, in: query, schema: {type: string}, description: Only these labels (comma-separated or repeated)}
        - {name: not_label, in: query, schema: {type: string}, description: Never these labels}
        - {name: group_by_label, in: query, schema: {type: boolean}}
        - {name: exact, in: query, schema: {type: boolean}}
        - {name: ef, in: query, schema: {type: integer, minimum: 1, maximum: 100000}}
        - {name: probe, in: query, schema: {type: integer, minimum: 1, maximum: 100000}}
        - {name: threshold, in: query, schema: {type: number, minimum: -3.4028234663852886e+38, maximum: 3.4028234663852886e+38}}
      requestBody:
        required: true
        content:
          image/jpeg: {schema: {type: string, format: binary}}
          image/png: {schema: {type: string, format: binary}}
      responses:
        "200": {description: The result, content: {application/json: {schema: {$ref: "#/components/schemas/Result"}}}}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
  /v1/collections/{collection}/items:
    parameters:
      - $ref: "#/components/parameters/Collection"
    get:
      summary: Page through items in id order
      parameters:
        - {name: label, in: query, schema: {type: string}, description: Only these labels (comma-separated or repeated)}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        - {name: cursor, in: query, schema: {type: integer, minimum: -1, maximum: 9223372036854775807}, description: The next_cursor of the page before}
      responses:
        "200":
          description: A page
          content:
            application/json:
              schema:
                type: object
                required: [items, next_cursor]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Item"}}
                  next_cursor: {type: [integer, "null"]}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
    put:
      summary: Add items (vectors, or images embedded by the collection's model); answered once the commit is durable
      parameters:
        - {name: label, in: query, schema: {type: string}, description: The label of a raw image}
        - {name: payload, in: query, content: {application/json: {schema: {}}}, description: The JSON payload of a raw image}
      requestBody:
        required: true
        content:
          image/jpeg: {schema: {type: string, format: binary}}
          image/png: {schema: {type: string, format: binary}}
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [items]
              properties:
                items:
                  type: array
                  minItems: 1
                  items:
                    type: object
                    additionalProperties: false
                    properties:
                      vector: {$ref: "#/components/schemas/Vector"}
                      image_base64: {type: string, contentEncoding: base64, minLength: 1}
                      label: {type: string}
                      payload: {}
      responses:
        "201":
          description: The new items' ids
          content: {application/json: {schema: {type: object, required: [ids], properties: {ids: {type: array, items: {type: integer}}}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
  /v1/collections/{collection}/items/delete:
    parameters:
      - $ref: "#/components/parameters/Collection"
    post:
      summary: Remove items by ids or by a label filter
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties:
                ids: {type: array, items: {type: integer, minimum: -9223372036854775808, maximum: 9223372036854775807}}
                filter: {$ref: "#/components/schemas/Filter"}
              oneOf:
                - required: [ids]
                - required: [filter]
      responses:
        "200": {$ref: "#/components/responses/Removed"}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
  /v1/collections/{collection}/items/{id}:
    parameters:
      - $ref: "#/components/parameters/Collection"
      - $ref: "#/components/parameters/Item"
    get:
      summary: One item
      parameters:
        - {name: with_vector, in: query, schema: {type: boolean}}
      responses:
        "200": {description: The item, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
    delete:
      summary: Remove one item
      responses:
        "200": {$ref: "#/components/responses/Removed"}
        "401": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
  /v1/collections/{collection}/items/{id}/image:
    parameters:
      - $ref: "#/components/parameters/Collection"
      - $ref: "#/components/parameters/Item"
    get:
      summary: The image stored with an item added as an image through the API
      responses:
        "200":
          description: The image as it was uploaded
          content:
            image/jpeg: {schema: {type: string, format: binary}}
            image/png: {schema: {type: string, format: binary}}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  parameters:
    Collection:
      {name: collection, in: path, required: true, schema: {$ref: "#/components/schemas/Name"}, example: catalogue}
    Item:
      {name: id, in: path, required: true, schema: {type: integer, minimum: 0, maximum: 9223372036854775807}, example: 0}
  responses:
    Error:
      description: An error
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    Removed:
      description: How many items were removed
      content: {application/json: {schema: {type: object, required: [removed], properties: {removed: {type: integer}}}}}
  schemas:
    Name: {type: string, pattern: "^[A-Za-z0-9_-]{1,64}$"}
    Vector:
      type: array
      minItems: 1
      description: float32 values
      items: {type: number, minimum: -3.4028234663852886e+38, maximum: 3.4028234663852886e+38}
    Status:
      type: object
      required: [status]
      properties: {status: {type: string}}
    Error:
      type: object
      required: [error, detail]
      properties:
        error: {type: string, description: A stable code}
        detail: {type: string, description: What was wrong and what to do}
    Filter:
      type: object
      additionalProperties: false
      required: [label]
      properties:
        label:
          type: object
          additionalProperties: false
          minProperties: 1
          properties:
            in: {type: array, items: {type: string}}
            not_in: {type: array, items: {type: string}}
    Model:
      type: object
      required: [name, fingerprint, dimension]
      properties:
        name: {type: string}
        fingerprint: {type: string}
        dimension: {type: integer}
    Collection:
      type: object
      required: [name, items, dimension, similarity, model, model_fingerprint, model_loaded, threshold, index, labels]
      properties:
        name: {type: string}
        items: {type: integer}
        dimension: {type: integer}
        similarity: {type: string, enum: [cosine, inner-product]}
        model: {type: [string, "null"], description: The loaded model that embeds its images}
        model_fingerprint: {type: [string, "null"]}
        model_loaded: {type: boolean}
        threshold: {type: [number, "null"], description: The calibrated "no match" threshold}
        index:
          type: object
          required: [kind, freshness]
          properties:
            kind: {type: string, enum: [exact, flat, hnsw, sq8, ivfpq]}
            freshness: {type: string, enum: [none, up_to_date, stale, unusable]}
            reason: {type: string}
        labels:
          type: array
          items:
            type: object
            required: [label, count]
            properties:
              label: {type: string}
              count: {type: integer}
    Hit:
      type: object
      required: [id, label, path, similarity]
      properties:
        id: {type: integer}
        label: {type: string}
        path: {type: string}
        similarity: {type: number}
        payload: {}
    Result:
      type: object
      required: [match, threshold, hits]
      properties:
        match: {type: boolean, description: The best hit reaches the threshold (always true with none)}
        threshold: {type: [number, "null"]}
        hits: {type: array, items: {$ref: "#/components/schemas/Hit"}}
    Item:
      type: object
      required: [id, label, path, added]
      properties:
        id: {type: integer}
        label: {type: string}
        path: {type: string}
        added: {type: string, format: date-time}
        payload: {}
        vector: {type: array, items: {type: number}}
"""#
}
