/// `{"<key>": <value>}`: the one-key object that wraps most API responses
/// (`{"user": ...}`, `{"article": ...}`).
public struct JSONEnvelope<Value: JSONWritable>: JSONResponse {
    public let key: StaticString
    public let value: Value

    public init(_ key: StaticString, _ value: Value) {
        self.key = key
        self.value = value
    }

    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.key(key)
            value.write(to: &json)
        }
    }
}

extension Array: JSONWritable where Element: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.array(self) { json, element in element.write(to: &json) }
    }
}

extension String: JSONWritable {
    public func write(to json: inout JSONWriter) { json.value(self) }
}
