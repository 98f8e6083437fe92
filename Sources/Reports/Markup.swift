import Foundation
import Images

/// Escaping and number formatting shared by the HTML and SVG writers.
enum Markup {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A JSON string literal, safe inside a <script> element: no "<" at all, so neither "</script>"
    /// nor "<!--" can change how the browser parses the script.
    static func jsonString(_ text: String) -> String {
        let data = try! JSONEncoder().encode([text])
        let array = String(decoding: data, as: UTF8.self)
        return String(array.dropFirst().dropLast()).replacingOccurrences(of: "<", with: "\\u003c")
    }

    /// Coordinates with two decimals: plenty for screen pixels, and short.
    static func coordinate(_ v: Double) -> String { String(format: "%.2f", v) }

    /// A PNG as a data URI, for thumbnails the page carries inside itself.
    static func dataURI(_ image: Image) -> String? {
        guard let png = try? ImageEncoder.png(image) else { return nil }
        return "data:image/png;base64," + png.base64EncodedString()
    }
}
