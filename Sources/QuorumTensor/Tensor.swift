/// A dense row-major tensor: a shape and its elements in one flat array.
///
/// This is the exchange type (weights in and out, test inputs); the hot loops work on the raw
/// buffers of ``Buffer``.
public struct Tensor<T: TensorScalar>: Sendable, Equatable {
    /// Extent of each dimension, outermost first.
    public var shape: [Int]
    /// The elements, `shape.reduce(1, *)` of them, last dimension fastest.
    public var storage: [T]

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: T = 0) {
        self.shape = shape
        self.storage = Array(repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor of `shape` over `storage`; the counts must agree.
    public init(shape: [Int], storage: [T]) {
        precondition(shape.reduce(1, *) == storage.count, "shape \(shape) does not match \(storage.count) elements")
        self.shape = shape
        self.storage = storage
    }

    /// The number of elements.
    public var count: Int { storage.count }
}

/// A fixed-size, uninitialised-then-zeroed block of elements owned by a class, so that kernels can
/// take stable raw pointers into it without copy-on-write or exclusivity checks in inner loops.
public final class Buffer<T: TensorScalar> {
    /// The first element; valid for ``count`` elements until the buffer is released.
    public let pointer: UnsafeMutablePointer<T>
    /// The number of elements.
    public let count: Int

    /// `count` zeros.
    public init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        // All-zero bytes are +0.0 for IEEE floats; a byte fill avoids a generic element loop.
        UnsafeMutableRawPointer(pointer).initializeMemory(
            as: UInt8.self, repeating: 0, count: max(count, 1) * MemoryLayout<T>.stride)
    }

    /// A copy of `values`.
    public convenience init(_ values: [T]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    /// Sets every element to zero.
    public func zero() {
        UnsafeMutableRawPointer(pointer).initializeMemory(
            as: UInt8.self, repeating: 0, count: count * MemoryLayout<T>.stride)
    }

    /// The elements as an array (a copy).
    public var array: [T] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Element access (bounds-checked in debug builds only).
    public subscript(index: Int) -> T {
        get {
            assert(index >= 0 && index < count)
            return pointer[index]
        }
        set {
            assert(index >= 0 && index < count)
            pointer[index] = newValue
        }
    }
}
