import PrometheusWire

/// Reads a block's `index` file, format version 2 (Prometheus' `tsdb/docs/format/index.md`).
///
/// Opening it checks the magic, the version, the table of contents' CRC and the CRCs of the symbol
/// table and the postings offset table, and keeps in memory only: every 32nd symbol's offset, and
/// for each label name the span of its entries in the postings offset table. Everything else is
/// read on demand through `WindowCursor`s, so memory does not grow with the index.
///
/// Immutable once opened: any number of reads may use it at once.
final class IndexReader: Sendable {
    static let magic: UInt32 = 0xBAAA_D700
    static let version: UInt8 = 2
    static let tocBytes = 6 * 8 + 4
    /// One symbol offset in memory per this many symbols (as Prometheus itself does).
    static let symbolStride = 32

    struct TOC: Sendable {
        var symbols: Int
        var series: Int
        var postings: Int
        var postingsOffsetTable: Int
    }

    /// A chunk of one series: its time span (both inclusive) and where its data lies.
    struct ChunkMeta: Sendable {
        var minTimeMs: Int64
        var maxTimeMs: Int64
        var ref: UInt64
    }

    let file: BlockFile
    let toc: TOC
    private let symbolCount: Int
    private let symbolOffsets: [Int]
    /// Per label name, the file offsets of its first postings-offset entry and of the entry after its last.
    private let namesInTable: [[UInt8]: Range<Int>]
    private let postingsTableEnd: Int
    /// Offset of the postings list of every series (the empty label pair), if the index has one.
    let allPostingsOffset: Int?

    init(path: String) throws {
        let file = try BlockFile(path: path)
        self.file = file
        guard file.size >= 5 + Self.tocBytes else {
            throw TSDBError(.corrupt, "\(path) is \(file.size) bytes, too short for an index")
        }
        let head = try file.read(at: 0, count: 5)
        guard BinaryDecoding.bigEndian32(head[0..<4]) == Self.magic else {
            throw TSDBError(.corrupt, "\(path) does not start with the index magic 0xBAAAD700; it is not a Prometheus block index")
        }
        guard head[4] == Self.version else {
            throw TSDBError(.unsupported, "\(path) is index format version \(head[4]); this reader knows version 2 only "
                + "(what Prometheus 2.x and 3.x write). Let a current Prometheus read the block and export through --source-url")
        }
        let tocBytes = try file.read(at: file.size - Self.tocBytes, count: Self.tocBytes)
        let stored = BinaryDecoding.bigEndian32(tocBytes[48...])
        guard CRC32C.checksum(tocBytes[..<48]) == stored else {
            throw TSDBError(.corrupt, "\(path): the table of contents fails its CRC32C; the index is truncated or damaged")
        }
        func offset(_ i: Int) throws -> Int {
            let value = tocBytes[(i * 8)..<(i * 8 + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard value < UInt64(file.size) else {
                throw TSDBError(.corrupt, "\(path): the table of contents points past the end of the file (\(value) ≥ \(file.size))")
            }
            return Int(value)
        }
        let toc = TOC(symbols: try offset(0), series: try offset(1), postings: try offset(4), postingsOffsetTable: try offset(5))
        self.toc = toc

        // Symbols: keep every 32nd offset.
        var symbolOffsets: [Int] = []
        var symbolCount = 0
        if toc.symbols > 0 {
            let (start, end) = try Self.checkedSection(file, at: toc.symbols, name: "symbol table")
            var cursor = WindowCursor(file: file, from: start, to: end, section: "symbol table")
            symbolCount = Int(try cursor.be32())
            guard symbolCount <= cursor.remaining else {
                throw TSDBError(.corrupt, "\(path): the symbol table claims \(symbolCount) symbols in \(cursor.remaining) bytes")
            }
            symbolOffsets.reserveCapacity(symbolCount / Self.symbolStride + 1)
            for i in 0..<symbolCount {
                if i % Self.symbolStride == 0 { symbolOffsets.append(cursor.position) }
                try cursor.skip(try cursor.length(atMost: cursor.remaining, "symbol length"))
            }
        }
        self.symbolCount = symbolCount
        self.symbolOffsets = symbolOffsets

        // Postings offset table: the span of each label name's entries.
        var names: [[UInt8]: Range<Int>] = [:]
        var allPostings: Int?
        var tableEnd = 0
        if toc.postingsOffsetTable > 0 {
            let (start, end) = try Self.checkedSection(file, at: toc.postingsOffsetTable, name: "postings offset table")
            tableEnd = end
            var cursor = WindowCursor(file: file, from: start, to: end, section: "postings offset table")
            let count = Int(try cursor.be32())
            var currentName: [UInt8]?
            var currentStart = cursor.position
            var previous: ([UInt8], [UInt8])?
            for _ in 0..<count {
                let entryStart = cursor.position
                let entry = try Self.postingsEntry(&cursor)
                if let previous, !(previous.0.lexicographicallyPrecedes(entry.name)
                                   || previous.0 == entry.name && previous.1.lexicographicallyPrecedes(entry.value)) {
                    throw TSDBError(.corrupt, "\(path): the postings offset table is not sorted by label name and value")
                }
                previous = (entry.name, entry.value)
                if entry.name.isEmpty && entry.value.isEmpty { allPostings = entry.offset }
                if entry.name != currentName {
                    if let currentName { names[currentName] = currentStart..<entryStart }
                    currentName = entry.name
                    currentStart = entryStart
                }
            }
            if let currentName { names[currentName] = currentStart..<cursor.position }
            tableEnd = cursor.position
        }
        namesInTable = names
        postingsTableEnd = tableEnd
        allPostingsOffset = allPostings
    }

    /// Checks the CRC32C of the section at `offset` (`len` u32, `len` bytes, CRC32C of those bytes),
    /// streaming it through a bounded buffer; returns the span of its `len` bytes.
    static func checkedSection(_ file: BlockFile, at offset: Int, name: String) throws -> (start: Int, end: Int) {
        let length = Int(try file.be32(at: offset))
        let start = offset + 4
        guard length <= file.size - start - 4 else {
            throw TSDBError(.corrupt, "\(file.path): the \(name) claims \(length) bytes, more than the file holds")
        }
        var crc: UInt32 = 0
        var done = 0
        while done < length {
            let piece = try file.read(at: start + done, count: min(1 << 20, length - done))
            crc = CRC32C.checksum(piece, continuing: crc)
            done += piece.count
        }
        guard crc == (try file.be32(at: start + length)) else {
            throw TSDBError(.corrupt, "\(file.path): the \(name) fails its CRC32C; the index is damaged")
        }
        return (start, start + length)
    }

    private static func postingsEntry(_ cursor: inout WindowCursor) throws -> (name: [UInt8], value: [UInt8], offset: Int) {
        guard try cursor.uvarint() == 2 else {
            throw TSDBError(.corrupt, "\(cursor.file.path): a postings offset entry has other than 2 keys")
        }
        let name = try cursor.bytes(try cursor.length(atMost: cursor.remaining, "label name length"))
        let value = try cursor.bytes(try cursor.length(atMost: cursor.remaining, "label value length"))
        let offset = try cursor.length(atMost: cursor.file.size, "postings offset")
        return (name, value, offset)
    }

    // MARK: Symbols

    /// Resolves symbol references, remembering what it resolved; one per read, never shared.
    struct Symbols {
        let index: IndexReader
        private var cache: [UInt32: [UInt8]] = [:]

        init(_ index: IndexReader) { self.index = index }

        mutating func string(_ ref: UInt32) throws -> [UInt8] {
            if let known = cache[ref] { return known }
            let i = Int(ref)
            guard i < index.symbolCount else {
                throw TSDBError(.corrupt, "\(index.file.path): a series names symbol \(ref), but the table has \(index.symbolCount)")
            }
            var cursor = WindowCursor(file: index.file, from: index.symbolOffsets[i / IndexReader.symbolStride],
                                      to: index.file.size, section: "symbol table", windowBytes: 4096)
            var found: [UInt8] = []
            // The 32 symbols of a stride are read together: a series' neighbours need them next.
            let first = i - i % IndexReader.symbolStride
            for j in first..<min(index.symbolCount, first + IndexReader.symbolStride) {
                let symbol = try cursor.bytes(try cursor.length(atMost: cursor.remaining, "symbol length"))
                if cache.count > 1 << 16 { cache.removeAll(keepingCapacity: true) }
                cache[UInt32(j)] = symbol
                if j == i { found = symbol }
            }
            return found
        }
    }

    // MARK: Postings

    /// The offsets of the postings lists of `name`'s values that satisfy `accept`, in value order.
    func postingsOffsets(name: [UInt8], accept: ([UInt8]) -> Bool) throws -> [Int] {
        guard let span = namesInTable[name] else { return [] }
        var cursor = WindowCursor(file: file, from: span.lowerBound, to: span.upperBound, section: "postings offset table")
        var offsets: [Int] = []
        while cursor.remaining > 0 {
            let entry = try Self.postingsEntry(&cursor)
            if accept(entry.value) { offsets.append(entry.offset) }
        }
        return offsets
    }

    /// Every value `name` has in the block, in order.
    func values(of name: [UInt8]) throws -> [[UInt8]] {
        guard let span = namesInTable[name] else { return [] }
        var cursor = WindowCursor(file: file, from: span.lowerBound, to: span.upperBound, section: "postings offset table")
        var values: [[UInt8]] = []
        while cursor.remaining > 0 { values.append(try Self.postingsEntry(&cursor).value) }
        return values
    }

    /// One postings list, CRC-checked: the series references it holds, in increasing order.
    func postings(at offset: Int) throws -> [UInt32] {
        let (start, end) = try Self.checkedSection(file, at: offset, name: "postings list at \(offset)")
        let bytes = try file.read(at: start, count: end - start)
        guard bytes.count >= 4 else { throw TSDBError(.corrupt, "\(file.path): the postings list at \(offset) is too short") }
        let count = Int(BinaryDecoding.bigEndian32(bytes[0..<4]))
        guard bytes.count == 4 + 4 * count else {
            throw TSDBError(.corrupt, "\(file.path): the postings list at \(offset) claims \(count) entries in \(bytes.count - 4) bytes")
        }
        var refs = [UInt32](repeating: 0, count: count)
        for i in 0..<count {
            let b = 4 + 4 * i
            refs[i] = BinaryDecoding.bigEndian32(bytes[b..<(b + 4)])
            if i > 0 && refs[i] <= refs[i - 1] {
                throw TSDBError(.corrupt, "\(file.path): the postings list at \(offset) is not increasing")
            }
        }
        return refs
    }

    // MARK: Series

    /// A window for reading series entries one after another (see `series(_:symbols:window:)`).
    func seriesWindow() -> FileWindow { FileWindow(file: file) }

    /// The labels and chunks of the series with reference `ref` (its offset / 16), CRC-checked.
    ///
    /// `window` serves the reads of one cursor over the series section (made by `seriesWindow()`).
    func series(_ ref: UInt32, symbols: inout Symbols, window: inout FileWindow) throws -> (labels: Labels, chunks: [ChunkMeta]) {
        let offset = Int(ref) * 16
        guard offset >= toc.series, offset < file.size else {
            throw TSDBError(.corrupt, "\(file.path): series reference \(ref) lies outside the series section")
        }
        let context = { "\(self.file.path): series \(ref)" }
        let body = try window.checkedRecord(at: offset, lengthBytes: 10, extra: 0, maxLength: file.size - offset - 4, context: context)
        var entry = BytesReader(body, context: context)
        let labelCount = try entry.count(atMost: body.count / 2)
        var labels: [Label] = []
        labels.reserveCapacity(labelCount)
        for _ in 0..<labelCount {
            let name = try symbols.string(try Self.symbol(&entry))
            let value = try symbols.string(try Self.symbol(&entry))
            labels.append(Label(name: name, value: value))
        }
        guard Labels.isSortedAndUnique(labels) else {
            throw TSDBError(.corrupt, "\(file.path): series \(ref)'s labels are not sorted and unique")
        }
        let chunkCount = try entry.count(atMost: body.count / 3)
        var chunks: [ChunkMeta] = []
        chunks.reserveCapacity(chunkCount)
        var previous = ChunkMeta(minTimeMs: 0, maxTimeMs: 0, ref: 0)
        for i in 0..<chunkCount {
            var chunk = ChunkMeta(minTimeMs: 0, maxTimeMs: 0, ref: 0)
            if i == 0 {
                chunk.minTimeMs = try entry.varint()
                chunk.maxTimeMs = try Self.adding(&entry, chunk.minTimeMs, try entry.uvarint())
                chunk.ref = try entry.uvarint()
            } else {
                chunk.minTimeMs = try Self.adding(&entry, previous.maxTimeMs, try entry.uvarint())
                chunk.maxTimeMs = try Self.adding(&entry, chunk.minTimeMs, try entry.uvarint())
                let delta = try entry.varint()
                let (next, overflow) = Int64(bitPattern: previous.ref).addingReportingOverflow(delta)
                guard !overflow, next > Int64(bitPattern: previous.ref) else {
                    throw TSDBError(.corrupt, "\(file.path): series \(ref)'s chunk references do not increase")
                }
                chunk.ref = UInt64(bitPattern: next)
            }
            chunks.append(chunk)
            previous = chunk
        }
        return (Labels(sorted: labels), chunks)
    }
}

extension IndexReader {
    fileprivate static func symbol(_ entry: inout BytesReader) throws -> UInt32 {
        let value = try entry.uvarint()
        guard value <= UInt64(UInt32.max) else { throw entry.corrupt("symbol reference \(value) exceeds 32 bits") }
        return UInt32(value)
    }

    /// `base + delta` of a chunk's times, refusing what overflows.
    fileprivate static func adding(_ entry: inout BytesReader, _ base: Int64, _ delta: UInt64) throws -> Int64 {
        guard delta <= UInt64(Int64.max) else { throw entry.corrupt("a time delta of \(delta) overflows") }
        let (sum, overflow) = base.addingReportingOverflow(Int64(delta))
        guard !overflow else { throw entry.corrupt("a chunk time overflows") }
        return sum
    }
}
