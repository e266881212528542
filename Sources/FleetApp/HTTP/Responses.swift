/// Response bodies, each wrapped the way Conduit clients expect.
public import Hummingbird

struct UserResponse: ResponseEncodable { let user: AuthenticatedUser }
struct ProfileResponse: ResponseEncodable { let profile: Profile }
struct ArticleResponse: ResponseEncodable { let article: Article }
struct CommentResponse: ResponseEncodable { let comment: Comment }
struct CommentsResponse: ResponseEncodable { let comments: [Comment] }
struct TagsResponse: ResponseEncodable { let tags: [String] }
extension ArticlePage: ResponseEncodable {}
