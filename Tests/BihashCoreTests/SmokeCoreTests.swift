import Testing
@testable import BihashCore

@Test func moduleCoreBuilds() { #expect(Bool(true)) }
