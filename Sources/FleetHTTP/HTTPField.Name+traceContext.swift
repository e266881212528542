public import HTTPTypes

extension HTTPField.Name {
    /// W3C Trace Context: the trace and parent span a request belongs to.
    public static var traceparent: Self { Self("traceparent")! }
    /// W3C Trace Context: vendor-specific state carried along with `traceparent`.
    public static var tracestate: Self { Self("tracestate")! }
}
