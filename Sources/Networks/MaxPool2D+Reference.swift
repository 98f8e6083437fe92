import Tensors

public enum ReferenceMaxPool2D {
    public static func forward(input: [Float], planes: Int, h: Int, w: Int) -> [Float] {
        let oh = (h + 1) / 2, ow = (w + 1) / 2
        var output = [Float](repeating: 0, count: planes * oh * ow)
        for p in 0..<planes { for oy in 0..<oh { for ox in 0..<ow {
            var best = -Float.infinity
            for dy in 0..<2 { for dx in 0..<2 {
                let y = 2 * oy + dy, x = 2 * ox + dx
                if y < h && x < w { best = max(best, input[(p * h + y) * w + x]) }
            } }
            output[(p * oh + oy) * ow + ox] = best
        } } }
        return output
    }
}
