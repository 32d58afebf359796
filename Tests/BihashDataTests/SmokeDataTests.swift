import Testing
@testable import BihashData

@Test func moduleDataBuilds() { #expect(Bool(true)) }
