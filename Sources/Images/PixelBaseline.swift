import Tensors

extension ImageSet {
    /// Each image's [0, 1] pixels as one unit-length vector, [count, channels·size²]: the raw-pixel
    /// baseline a learned embedding has to beat.
    public func pixelVectors() -> Tensor {
        let d = valuesPerImage
        let result = Tensor(shape: [count, d])
        fill(result.pointer, indices: 0..<count, preprocessing: Preprocessing(imageSize: imageSize, channels: channels))
        RowNormalization.unitLength(result)
        return result
    }
}
