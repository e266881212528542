/// How feeds are built (the `feed.*` settings).
public struct FeedPolicy: Sendable, Equatable {
    /// Authors with more followers than this are not fanned out: their articles are
    /// merged into their followers' feeds at read time (the hybrid).
    public var fanoutMaxFollowers: Int
    /// Fan-outs to at most this many followers run inline right after the article
    /// commits (the feed is fresh when the request returns); larger ones run as jobs.
    public var inlineFollowers: Int
    /// The most articles a user's timeline keeps; older ones are trimmed by jobs.
    public var timelineMax: Int

    public init(fanoutMaxFollowers: Int = 10_000, inlineFollowers: Int = 100, timelineMax: Int = 1000) {
        self.fanoutMaxFollowers = fanoutMaxFollowers
        self.inlineFollowers = inlineFollowers
        self.timelineMax = timelineMax
    }
}
