import PrometheusWire

/// Writes a block's `index`, format version 2 (Prometheus' `tsdb/docs/format/index.md`), as
/// Prometheus' own writer lays it out:
///
/// 1. the magic 0xBAAAD700 and version 2;
/// 2. the symbol table: every label name and value once, sorted byte-wise;
/// 3. the series, sorted by labels, each 16-byte aligned (its reference is its offset / 16): label
///    pairs as symbol numbers, then its chunks' time spans and references, delta-encoded;
/// 4. no label indices (Prometheus stopped writing them; format 2 readers use the postings table);
/// 5. the postings lists, 4-byte aligned: the list of all series (the empty label pair) first, then
///    one per label pair in sorted order;
/// 6. the postings offset table, naming each list's offset;
/// 7. the table of contents.
///
/// Every section and series entry carries a CRC32C, as the reader (`IndexReader`) checks them.
enum IndexWriter {
    struct Entry {
        var labels: Labels
        var chunks: [IndexReader.ChunkMeta]
    }

    /// Writes the index of `series` (sorted by labels, each with its chunks in time order) to `path`.
    static func write(_ series: [Entry], to path: String) throws {
        let file = try OutputFile(path: path)
        try file.write([0xBA, 0xAA, 0xD7, 0x00, IndexReader.version])

        // Symbols.
        var symbolSet = Set<[UInt8]>()
        for entry in series {
            for label in entry.labels.labels {
                symbolSet.insert(label.name)
                symbolSet.insert(label.value)
            }
        }
        let symbols = symbolSet.sorted(by: Labels.less)
        var symbolNumber: [[UInt8]: UInt32] = [:]
        symbolNumber.reserveCapacity(symbols.count)
        let symbolsOffset = file.position
        var body = BinaryEncoder()
        body.be32(UInt32(symbols.count))
        for (i, symbol) in symbols.enumerated() {
            body.uvarint(UInt64(symbol.count))
            body.bytes += symbol
            symbolNumber[symbol] = UInt32(i)
        }
        try writeSection(body.bytes, to: file, what: "symbol table", path: path)

        // Series, and the postings they make.
        try file.pad(to: 16)
        let seriesOffset = file.position
        var all: [UInt32] = []
        all.reserveCapacity(series.count)
        var postings: [[UInt8]: [[UInt8]: [UInt32]]] = [:]
        for entry in series {
            try file.pad(to: 16)
            guard file.position / 16 <= Int(UInt32.max) else {
                throw TSDBError(.unwritable, "\(path): the series section outgrows the 64 GiB that 32-bit series references reach; "
                    + "write shorter blocks (--block-duration)")
            }
            let ref = UInt32(file.position / 16)
            all.append(ref)
            var entryBody = BinaryEncoder()
            entryBody.uvarint(UInt64(entry.labels.count))
            for label in entry.labels.labels {
                entryBody.uvarint(UInt64(symbolNumber[label.name]!))
                entryBody.uvarint(UInt64(symbolNumber[label.value]!))
                postings[label.name, default: [:]][label.value, default: []].append(ref)
            }
            entryBody.uvarint(UInt64(entry.chunks.count))
            if let first = entry.chunks.first {
                entryBody.varint(first.minTimeMs)
                entryBody.uvarint(UInt64(first.maxTimeMs - first.minTimeMs))
                entryBody.uvarint(first.ref)
                var (previousMax, previousRef) = (first.maxTimeMs, first.ref)
                for chunk in entry.chunks.dropFirst() {
                    entryBody.uvarint(UInt64(chunk.minTimeMs - previousMax))
                    entryBody.uvarint(UInt64(chunk.maxTimeMs - chunk.minTimeMs))
                    entryBody.varint(Int64(bitPattern: chunk.ref &- previousRef))
                    (previousMax, previousRef) = (chunk.maxTimeMs, chunk.ref)
                }
            }
            var record = BinaryEncoder()
            record.uvarint(UInt64(entryBody.bytes.count))
            record.bytes += entryBody.bytes
            record.be32(CRC32C.checksum(entryBody.bytes))
            try file.write(record.bytes)
        }

        // Postings: all series first, then each label pair in order.
        try file.pad(to: 4)
        let postingsOffset = file.position
        var table: [(name: [UInt8], value: [UInt8], offset: Int)] = []
        func writePostings(_ name: [UInt8], _ value: [UInt8], _ refs: [UInt32]) throws {
            try file.pad(to: 4)
            table.append((name, value, file.position))
            var list = BinaryEncoder()
            list.be32(UInt32(refs.count))
            for ref in refs { list.be32(ref) }
            var record = BinaryEncoder()
            record.be32(UInt32(list.bytes.count))
            record.bytes += list.bytes
            record.be32(CRC32C.checksum(list.bytes))
            try file.write(record.bytes)
        }
        try writePostings([], [], all)
        for name in postings.keys.sorted(by: Labels.less) {
            let values = postings[name]!
            for value in values.keys.sorted(by: Labels.less) { try writePostings(name, value, values[value]!) }
        }

        // The postings offset table.
        let tableOffset = file.position
        var tableBody = BinaryEncoder()
        tableBody.be32(UInt32(table.count))
        for entry in table {
            tableBody.uvarint(2)
            tableBody.uvarint(UInt64(entry.name.count))
            tableBody.bytes += entry.name
            tableBody.uvarint(UInt64(entry.value.count))
            tableBody.bytes += entry.value
            tableBody.uvarint(UInt64(entry.offset))
        }
        try writeSection(tableBody.bytes, to: file, what: "postings offset table", path: path)

        // Table of contents: symbols, series, label indices, label offset table, postings, postings offset table.
        var toc = BinaryEncoder()
        for offset in [symbolsOffset, seriesOffset, postingsOffset, postingsOffset, postingsOffset, tableOffset] {
            toc.be64(UInt64(offset))
        }
        toc.be32(CRC32C.checksum(toc.bytes))
        try file.write(toc.bytes)
        try file.close()
    }

    /// `len` (4 bytes), the body, and the body's CRC32C.
    private static func writeSection(_ body: [UInt8], to file: OutputFile, what: String, path: String) throws {
        guard body.count <= Int(UInt32.max) else {
            throw TSDBError(.unwritable, "\(path): the \(what) outgrows the 4 GiB its 32-bit length field allows; write shorter blocks (--block-duration)")
        }
        var section = BinaryEncoder()
        section.be32(UInt32(body.count))
        section.bytes += body
        section.be32(CRC32C.checksum(body))
        try file.write(section.bytes)
    }
}
