// Accounts through the real server on port 0: tokens on every route and
// transport, another user's ids answering 404 everywhere, tier permissions
// and limits, and the rate limiter's 429s and headers (on a ManualClock, so
// the budget and Retry-After are exact).

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "auth/auth_service.hpp"
#include "auth/rate_limiter.hpp"
#include "auth/tiers.hpp"
#include "model/json_io.hpp"
#include "server/server.hpp"
#include "test_data.hpp"

namespace ymy::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// Small limits so a test can reach them; "tiny" lacks design:modify and zip export.
constexpr const char* kTiers = R"({
  "defaultTier": "tiny",
  "tiers": {
    "tiny": {"requestsPerMinute": 60, "burst": 40, "requestsPerDay": null, "designRunsPerDay": 3,
             "concurrentExecutions": 1, "maxPlanTasks": 6,
             "permissions": ["projects:read", "projects:write", "design:run"]},
    "big": {"requestsPerMinute": 6000, "burst": 1000, "requestsPerDay": null, "designRunsPerDay": null,
            "concurrentExecutions": 10, "maxPlanTasks": 200,
            "permissions": ["projects:read", "projects:write", "design:run", "design:modify", "files:export",
                            "admin:cache"]}
  }
})";

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  boost::json::value json() const {
    auto v = json::parse(body, "reply");
    return v ? *v : boost::json::value();
  }
};

class AuthRoutesTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = engine::Engine::load(test::dataDir());
    ASSERT_TRUE(e) << e.error().message;
    engine_ = e->release();
  }
  static void TearDownTestSuite() { delete engine_; }

  void SetUp() override {
    auto tiers = auth::parseTiers(kTiers);
    ASSERT_TRUE(tiers) << tiers.error().message;
    tiers_ = std::move(*tiers);
    hasher_ = std::move(*auth::PasswordHasher::create(auth::PasswordHashOptions::minimal()));
    const std::string key(32, 'k');
    jwt_ = std::move(*auth::JwtCodec::create(
        std::span(reinterpret_cast<const unsigned char*>(key.data()), key.size()), auth::JwtOptions{}, wall_));
    service_ = std::move(*auth::AuthService::create(*store_, *hasher_, *jwt_, tiers_, wall_));
    limiter_ = std::make_unique<auth::InProcessLimiter>(limiterClock_);
    ServerServices services;
    services.auth = service_.get();
    services.limiter = limiter_.get();
    services.tiers = &tiers_;
    ServerOptions options;
    options.port = 0;
    options.modificationCooldown = std::chrono::milliseconds(0);
    server_ = std::make_unique<Server>(options, *engine_, *store_, services);
    auto port = server_->start();
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    ann_ = signUp("ann@example.com");
    bob_ = signUp("bob@example.com");
  }
  void TearDown() override {
    server_->stop("test over");
    server_->wait();
  }

  std::string signUp(const std::string& email, const char* tier = nullptr) {
    auto r = request(http::verb::post, "/api/auth/register", "",
                     json::compact(boost::json::object{{"email", email}, {"password", "a long password"}}));
    EXPECT_EQ(r.status, 201) << r.body;
    if (tier) {
      EXPECT_TRUE(store_->setUserTier(std::string(r.json().at("userId").as_string()), tier));
      r = request(http::verb::post, "/api/auth/login", "",
                  json::compact(boost::json::object{{"email", email}, {"password", "a long password"}}));
    }
    return std::string(r.json().at("token").as_string());
  }

  Reply request(http::verb method, const std::string& target, const std::string& token, const std::string& body = "") {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    Reply reply{static_cast<int>(res.result_int()), res.body(), {}};
    for (const auto& h : res) reply.headers[std::string(h.name_string())] = std::string(h.value());
    return reply;
  }

  std::string design(const std::string& token, const std::string& text, double latency = 0,
                     const std::string& projectId = "") {
    boost::json::object body{{"request", text}, {"options", {{"simulateLatency", latency}, {"cache", false}}}};
    if (!projectId.empty()) body["projectId"] = projectId;
    auto r = request(http::verb::post, "/api/design", token, json::compact(body));
    EXPECT_EQ(r.status, 202) << r.body;
    return r.status == 202 ? std::string(r.json().at("executionId").as_string()) : std::string();
  }

  void waitFinished(const std::string& token, const std::string& id) {
    std::uint64_t after = 0;
    for (int i = 0; i < 1000; ++i) {
      auto r = request(http::verb::get, "/api/executions/" + id + "/events?after=" + std::to_string(after) + "&wait=10",
                       token);
      ASSERT_EQ(r.status, 200) << r.body;
      const auto page = r.json();
      for (const auto& e : page.at("events").as_array()) {
        if (e.at("type").as_string() == "executionSummary") return;
      }
      after = page.at("next").to_number<std::uint64_t>();
    }
    FAIL() << "no summary";
  }

  static inline engine::Engine* engine_ = nullptr;
  SystemClock wall_;
  ManualClock limiterClock_;
  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  auth::TierTable tiers_;
  std::unique_ptr<auth::PasswordHasher> hasher_;
  std::unique_ptr<auth::JwtCodec> jwt_;
  std::unique_ptr<auth::AuthService> service_;
  std::unique_ptr<auth::InProcessLimiter> limiter_;
  std::unique_ptr<Server> server_;
  unsigned short port_ = 0;
  std::string ann_, bob_;
};

TEST_F(AuthRoutesTest, AccountsAndSessions) {
  auto config = request(http::verb::get, "/api/auth/config", "");
  EXPECT_EQ(config.json().at("auth").as_string(), "on");

  auto again = request(http::verb::post, "/api/auth/register", "",
                       R"({"email":"ANN@example.com","password":"another long one"})");
  EXPECT_EQ(again.status, 409) << again.body;
  auto wrong = request(http::verb::post, "/api/auth/login", "", R"({"email":"ann@example.com","password":"nope nope"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.json().at("error").at("message").as_string(), "invalid email or password");
  EXPECT_EQ(request(http::verb::post, "/api/auth/login", "", R"({"email":"ann@example.com"})").status, 400);
  EXPECT_EQ(request(http::verb::post, "/api/auth/register", "", R"({"email":"not-an-email","password":"long enough"})")
                .status,
            400);

  auto who = request(http::verb::post, "/session/validate", ann_);
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(who.json().at("tier").as_string(), "tiny");
  EXPECT_TRUE(who.json().at("userId").as_string().starts_with("usr_"));
  EXPECT_EQ(who.json().at("permissions").as_array().size(), 3u);

  // No token, a bad one, a tampered one: 401 naming why, with the challenge header.
  auto none = request(http::verb::get, "/api/projects", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.headers["WWW-Authenticate"], "Bearer realm=\"youmeyou\"");
  EXPECT_NE(none.body.find("missing bearer token"), std::string::npos);
  EXPECT_EQ(request(http::verb::post, "/session/validate", "garbage").status, 401);
  std::string tampered = ann_;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  auto bad = request(http::verb::get, "/api/projects", tampered);
  EXPECT_EQ(bad.status, 401);
  EXPECT_NE(bad.body.find("invalid token"), std::string::npos) << bad.body;
  // Public: health, metrics, the auth config.
  EXPECT_EQ(request(http::verb::get, "/healthz", "").status, 200);
  EXPECT_EQ(request(http::verb::get, "/metrics", "").status, 200);
}

TEST_F(AuthRoutesTest, AnotherUsersProjectsAndExecutionsAreNotFoundOnEveryRouteAndTransport) {
  auto created = request(http::verb::post, "/api/projects", ann_, R"({"name":"ann's shop"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string project(created.json().at("id").as_string());
  const std::string exec = design(ann_, "add a cache in front of the product catalog", 0, project);
  waitFinished(ann_, exec);

  // Ann sees her things.
  EXPECT_EQ(request(http::verb::get, "/api/projects/" + project, ann_).status, 200);
  EXPECT_EQ(request(http::verb::get, "/api/executions/" + exec, ann_).status, 200);
  EXPECT_EQ(request(http::verb::get, "/api/projects", ann_).json().at("projects").as_array().size(), 1u);

  // Bob: an empty list, and 404 for every one of Ann's ids.
  EXPECT_TRUE(request(http::verb::get, "/api/projects", bob_).json().at("projects").as_array().empty());
  struct Case {
    http::verb method;
    std::string target, body;
  };
  for (const auto& c : std::vector<Case>{
           {http::verb::get, "/api/projects/" + project, ""},
           {http::verb::get, "/api/projects/" + project + "/canvas", ""},
           {http::verb::put, "/api/projects/" + project + "/canvas", R"({"nodes":[],"edges":[]})"},
           {http::verb::get, "/api/projects/" + project + "/export?format=mermaid", ""},
           {http::verb::get, "/api/executions/" + exec, ""},
           {http::verb::get, "/api/executions/" + exec + "/events?after=0", ""},
           {http::verb::get, "/api/executions/" + exec + "/files", ""},
           {http::verb::get, "/api/executions/" + exec + "/files/README.md", ""},
           {http::verb::post, "/api/executions/" + exec + "/cancel", ""},
           {http::verb::post, "/api/executions/" + exec + "/tasks/task_1/modifications/preview", R"({"prompt":"x y"})"},
           {http::verb::post, "/api/executions/" + exec + "/cache-report", ""},
           {http::verb::post, "/api/design", json::compact(boost::json::object{{"request", "scale auth to 3000 rps"},
                                                                               {"projectId", project}})},
       }) {
    auto r = request(c.method, c.target, bob_, c.body);
    EXPECT_EQ(r.status, 404) << c.target << " -> " << r.body;
    EXPECT_NE(r.body.find("not found"), std::string::npos) << r.body;
  }
  // SSE with the token in the query (EventSource cannot send headers).
  {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    const std::string req = "GET /api/executions/" + exec + "/stream?access_token=" + bob_ +
                            " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    net::write(socket, net::buffer(req));
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    EXPECT_EQ(res.result_int(), 404) << res.body();
  }
  // WebSocket: Bob's subscription to Ann's execution is refused as unknown;
  // Ann's own works, with the token in the query.
  auto subscribe = [&](const std::string& token) {
    net::io_context ioc;
    websocket::stream<tcp::socket> ws{ioc};
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    ws.handshake("localhost", "/stream?clientId=c&access_token=" + token);
    beast::flat_buffer b;
    ws.read(b);  // connected
    ws.write(net::buffer(json::compact(boost::json::object{{"type", "subscribe"}, {"executionId", exec}, {"after", 0}})));
    b.clear();
    ws.read(b);
    return *json::parse(beast::buffers_to_string(b.data()), "ws");
  };
  auto refused = subscribe(bob_);
  EXPECT_EQ(refused.at("type").as_string(), "error");
  EXPECT_NE(refused.at("message").as_string().find("not found"), std::string::npos);
  EXPECT_EQ(subscribe(ann_).at("type").as_string(), "intentAnalyzed");
  // Without a token the upgrade itself is refused.
  {
    net::io_context ioc;
    websocket::stream<tcp::socket> ws{ioc};
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    beast::error_code ec;
    websocket::response_type res;
    ws.handshake(res, "localhost", "/stream?clientId=c", ec);
    EXPECT_TRUE(ec);
    EXPECT_EQ(res.result_int(), 401);
  }
}

TEST_F(AuthRoutesTest, TiersSetPermissionsPlanSizeConcurrencyAndDailyRuns) {
  // "tiny" may not edit a step or download a zip.
  const std::string exec = design(ann_, "add monitoring to the order service", 1.0);
  auto modify = request(http::verb::post, "/api/executions/" + exec + "/tasks/task_1/modifications/preview", ann_,
                        R"({"prompt":"add alerting too"})");
  EXPECT_EQ(modify.status, 403);
  EXPECT_NE(modify.body.find("does not include design:modify"), std::string::npos) << modify.body;
  EXPECT_EQ(request(http::verb::get, "/api/executions/" + exec + "/files?format=zip", ann_).status, 403);
  EXPECT_EQ(request(http::verb::get, "/api/cache", ann_).status, 403);

  // One execution at a time.
  auto second = request(http::verb::post, "/api/design", ann_, R"({"request":"add a queue between orders and email"})");
  EXPECT_EQ(second.status, 429) << second.body;
  EXPECT_NE(second.body.find("allows 1 at once"), std::string::npos) << second.body;
  EXPECT_EQ(second.headers["Retry-After"], "1");  // it clears when a run finishes: no better estimate
  EXPECT_EQ(request(http::verb::post, "/api/executions/" + exec + "/cancel", ann_).status, 202);
  waitFinished(ann_, exec);

  // At most 6 tasks: Example 1 plans more.
  auto big = request(http::verb::post, "/api/design", ann_,
                     R"({"request":"Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing"})");
  EXPECT_EQ(big.status, 403) << big.body;
  EXPECT_NE(big.body.find("your tier allows 6"), std::string::npos) << big.body;

  // Three design runs a day, counting only runs that started: the monitoring
  // run and these two; the refusals above did not count.
  for (const char* text : {"add a read replica to the orders database", "add a search service"}) {
    const std::string id = design(ann_, text);
    waitFinished(ann_, id);
  }
  auto fourth = request(http::verb::post, "/api/design", ann_, R"({"request":"add an audit log service"})");
  EXPECT_EQ(fourth.status, 429) << fourth.body;
  EXPECT_NE(fourth.body.find("3 design runs a day"), std::string::npos) << fourth.body;
  EXPECT_EQ(fourth.headers["RateLimit-Limit"], "3");
  EXPECT_EQ(fourth.headers["RateLimit-Remaining"], "0");
  EXPECT_EQ(fourth.headers["Retry-After"], std::to_string(24 * 3600 / 3));

  // A bigger tier may do all of it.
  const std::string carol = signUp("carol@example.com", "big");
  const std::string run = design(carol, "add monitoring to the order service", 1.0);
  auto preview = request(http::verb::post, "/api/executions/" + run + "/tasks/task_1/modifications/preview", carol,
                         R"({"prompt":"Add monitoring and alerting to the order service"})");
  EXPECT_EQ(preview.status, 200) << preview.body;
  EXPECT_EQ(request(http::verb::get, "/api/cache", carol).status, 409);  // allowed; this server has no cache
  EXPECT_EQ(request(http::verb::post, "/api/executions/" + run + "/cancel", carol).status, 202);
  waitFinished(carol, run);
}

TEST_F(AuthRoutesTest, TheRateLimitAllowsExactlyTheBurstAndSaysWhenToComeBack) {
  // "tiny": 60 a minute, bursts of 40. The limiter's clock stands still.
  int allowed = 0;
  Reply last;
  for (int i = 0; i < 45; ++i) {
    last = request(http::verb::get, "/api/projects", ann_);
    if (last.status == 200) {
      ++allowed;
      EXPECT_EQ(last.headers["RateLimit-Remaining"], std::to_string(40 - allowed));
      EXPECT_EQ(last.headers["RateLimit-Limit"], "40");
    }
  }
  EXPECT_EQ(allowed, 40);
  EXPECT_EQ(last.status, 429);
  EXPECT_EQ(last.headers["Retry-After"], "1");  // one request a second at 60 a minute
  EXPECT_EQ(last.headers["RateLimit-Remaining"], "0");
  EXPECT_EQ(last.json().at("error").at("code").as_string(), "rate_limited");
  EXPECT_NE(last.body.find("60 requests per minute, bursts of 40"), std::string::npos) << last.body;
  // Bob has his own budget.
  EXPECT_EQ(request(http::verb::get, "/api/projects", bob_).status, 200);
  // A second later, one more.
  limiterClock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(request(http::verb::get, "/api/projects", ann_).status, 200);
  EXPECT_EQ(request(http::verb::get, "/api/projects", ann_).status, 429);
  EXPECT_NE(request(http::verb::get, "/metrics", "").body.find("youmeyou_rate_limited_total 6"), std::string::npos);
}

}  // namespace
}  // namespace ymy::server
