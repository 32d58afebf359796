import ArgumentParser
import CBihashABI
import Foundation

/// `bihash`: train hashing models, encode data into packed binary codes, index and search them.
/// Every operation goes through the `bihash_*` functions of `include/bihash.h`.
@main
struct Bihash: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bihash",
        abstract: "Learn compact binary codes, encode data with them and search them by Hamming distance.",
        subcommands: [Train.self, Encode.self, Index.self, Search.self, Eval.self, Info.self])

    @Flag(name: .long, help: "Print the library version and check that it matches the header.")
    var version = false

    func run() throws {
        guard version else { throw CleanExit.helpRequest(self) }
        let library = Int(bihash_version_number())
        // BIHASH_VERSION_NUMBER itself is a parenthesised macro expression that Swift does not import; this is
        // its definition, over the three macros Swift does import.
        let header = Int(BIHASH_VERSION_MAJOR * 10000 + BIHASH_VERSION_MINOR * 100 + BIHASH_VERSION_PATCH)
        print("bihash \(String(cString: bihash_version_string())) (ABI \(bihash_abi_version()))")
        guard library == header else {
            throw Failure("library version number \(library) differs from the header's BIHASH_VERSION_NUMBER \(header)")
        }
    }

    /// Runs the command; a `Failure` becomes one `bihash: <message>` line on stderr and exit status 1.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as Failure {
            printError("bihash: \(failure.message)\n")
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}
