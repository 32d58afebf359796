/// One search result: a database item's id and its Hamming distance to the query.
///
/// Results are ordered by (distance, id), ascending: the order is total, so a search returns the same list at
/// any thread count and from any index type (flat or multi-index hashing).
public struct Neighbor: Equatable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The caller-chosen 64-bit id given to `FlatIndex.add`.
    public var id: UInt64
    /// Hamming distance to the query, 0...K.
    public var distance: Int

    /// A result for item `id` at `distance`.
    @inlinable
    public init(id: UInt64, distance: Int) {
        self.id = id
        self.distance = distance
    }

    /// (distance, id) order.
    @inlinable
    public static func < (a: Neighbor, b: Neighbor) -> Bool {
        a.distance < b.distance || (a.distance == b.distance && a.id < b.id)
    }

    public var description: String { "\(id)@\(distance)" }
}

/// The k best neighbours seen so far: a binary max-heap on (distance, id), so the worst kept result is at the top.
struct NeighborHeap {
    let k: Int
    private(set) var items: [Neighbor] = []

    init(k: Int) {
        self.k = k
        items.reserveCapacity(Swift.min(k, 1 << 16))
    }

    /// Scan filter: an item can enter only if its distance is below this (ties are resolved by `offer`).
    var limit: Int { items.count < k ? Int.max : items[0].distance + 1 }

    var isFull: Bool { items.count >= k }

    /// The worst kept neighbour (only when non-empty).
    var worst: Neighbor { items[0] }

    /// Whether a neighbour with this distance and id would be kept.
    @inline(__always)
    func accepts(distance: Int, id: UInt64) -> Bool {
        if items.count < k { return true }
        let w = items[0]
        return distance < w.distance || (distance == w.distance && id < w.id)
    }

    /// Keeps (id, distance) if it is among the k best so far.
    mutating func offer(distance: Int, id: UInt64) {
        if items.count < k {
            items.append(Neighbor(id: id, distance: distance))
            siftUp(items.count - 1)
        } else if accepts(distance: distance, id: id) {
            items[0] = Neighbor(id: id, distance: distance)
            siftDown(0)
        }
    }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    /// The kept neighbours in (distance, id) order.
    func sorted() -> [Neighbor] { items.sorted() }

    private mutating func siftUp(_ start: Int) {
        var i = start
        let x = items[i]
        while i > 0 {
            let parent = (i - 1) >> 1
            if !(items[parent] < x) { break }
            items[i] = items[parent]
            i = parent
        }
        items[i] = x
    }

    private mutating func siftDown(_ start: Int) {
        let n = items.count
        var i = start
        let x = items[i]
        while true {
            var child = 2 * i + 1
            if child >= n { break }
            if child + 1 < n && items[child] < items[child + 1] { child += 1 }
            if !(x < items[child]) { break }
            items[i] = items[child]
            i = child
        }
        items[i] = x
    }
}
