import Testing
@testable import BihashNN

@Test func moduleNNBuilds() { #expect(Bool(true)) }
