import Testing
@testable import BihashIndex

@Test func moduleIndexBuilds() { #expect(Bool(true)) }
