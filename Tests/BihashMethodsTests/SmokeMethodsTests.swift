import Testing
@testable import BihashMethods

@Test func moduleMethodsBuilds() { #expect(Bool(true)) }
