// The real server on port 0 with real sockets: HTTP API, long poll, SSE and
// WebSocket against one event log.

#include "server/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <thread>

#include "cache/design_cache.hpp"
#include "model/json_io.hpp"
#include "test_data.hpp"

namespace ymy::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

const char* kExample1 =
    "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  boost::json::value json() const {
    auto v = json::parse(body, "reply");
    return v ? *v : boost::json::value();
  }
};

class ServerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = engine::Engine::load(test::dataDir());
    ASSERT_TRUE(e) << e.error().message;
    engine_ = e->release();
  }
  static void TearDownTestSuite() { delete engine_; }

  void startServer(ServerOptions options = {}, cache::DesignCache* cache = nullptr) {
    options.port = 0;
    store_ = store::makeMemoryStore();
    server_ = std::make_unique<Server>(options, *engine_, *store_, ServerServices{.cache = cache});
    auto port = server_->start();
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
  }
  void TearDown() override {
    if (server_) {
      server_->stop("test over");
      server_->wait();
    }
  }

  Reply request(http::verb method, const std::string& target, const std::string& body = "",
                const std::map<std::string, std::string>& headers = {}) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.skip(method == http::verb::head);  // a HEAD answer has no body, whatever its Content-Length
    http::read(stream, buffer, parser);
    const auto& res = parser.get();
    Reply reply{static_cast<int>(res.result_int()), res.body(), {}};
    for (const auto& h : res) reply.headers[std::string(h.name_string())] = std::string(h.value());
    return reply;
  }

  std::string startDesign(const std::string& request, double latency) {
    auto r = request_(http::verb::post, "/api/design",
                      json::compact(boost::json::object{{"request", request},
                                                        {"options", {{"simulateLatency", latency}}}}));
    EXPECT_EQ(r.status, 202) << r.body;
    return std::string(r.json().at("executionId").as_string());
  }
  Reply request_(http::verb m, const std::string& t, const std::string& b) { return request(m, t, b); }

  // Long poll until executionSummary; returns the seqs seen.
  std::vector<std::uint64_t> followByLongPoll(const std::string& id) {
    std::vector<std::uint64_t> seqs;
    std::uint64_t after = 0;
    for (int round = 0; round < 10000; ++round) {
      auto r = request(http::verb::get, "/api/executions/" + id + "/events?after=" + std::to_string(after) + "&wait=10");
      EXPECT_EQ(r.status, 200) << r.body;
      auto v = r.json();
      bool done = false;
      for (const auto& e : v.at("events").as_array()) {
        seqs.push_back(e.at("seq").to_number<std::uint64_t>());
        done = done || e.at("type").as_string() == "executionSummary";
      }
      after = v.at("next").to_number<std::uint64_t>();
      if (done) break;
    }
    return seqs;
  }

  std::vector<std::uint64_t> followBySse(const std::string& id, std::uint64_t lastEventId = 0) {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    std::string req = "GET /api/executions/" + id + "/stream HTTP/1.1\r\nHost: localhost\r\n" +
                      (lastEventId ? "Last-Event-ID: " + std::to_string(lastEventId) + "\r\n" : std::string()) + "\r\n";
    net::write(socket, net::buffer(req));
    std::string data;
    std::vector<std::uint64_t> seqs;
    std::array<char, 8192> chunk;
    for (;;) {
      boost::system::error_code ec;
      auto n = socket.read_some(net::buffer(chunk), ec);
      if (ec) break;
      data.append(chunk.data(), n);
      if (data.find("executionSummary") != std::string::npos && data.ends_with("\n\n")) break;
    }
    std::size_t pos = 0;
    while ((pos = data.find("\nid: ", pos)) != std::string::npos) {
      pos += 5;
      seqs.push_back(std::stoull(data.substr(pos, data.find('\n', pos) - pos)));
    }
    EXPECT_NE(data.find("text/event-stream"), std::string::npos);
    return seqs;
  }

  struct WsClient {
    net::io_context ioc;
    websocket::stream<tcp::socket> ws{ioc};
    explicit WsClient(unsigned short port) {
      ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
      ws.handshake("localhost", "/stream?clientId=test-client");
    }
    boost::json::value read() {
      beast::flat_buffer b;
      ws.read(b);
      return *json::parse(beast::buffers_to_string(b.data()), "ws");
    }
    void send(const boost::json::value& v) { ws.write(net::buffer(json::compact(v))); }
  };

  std::vector<std::uint64_t> followByWebSocket(const std::string& id, std::uint64_t after = 0) {
    WsClient c(port_);
    auto hello = c.read();
    EXPECT_EQ(hello.at("type").as_string(), "connected");
    EXPECT_EQ(hello.at("clientId").as_string(), "test-client");
    c.send({{"type", "subscribe"}, {"executionId", id}, {"after", after}});
    std::vector<std::uint64_t> seqs;
    for (;;) {
      auto e = c.read();
      seqs.push_back(e.at("seq").to_number<std::uint64_t>());
      if (e.at("type").as_string() == "executionSummary") break;
    }
    return seqs;
  }

  static std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
    std::vector<std::uint64_t> out;
    for (auto s = from; s <= to; ++s) out.push_back(s);
    return out;
  }

  static inline engine::Engine* engine_ = nullptr;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Server> server_;
  unsigned short port_ = 0;
};

TEST_F(ServerTest, ProjectsAndCanvasVersions) {
  startServer();
  auto created = request(http::verb::post, "/api/projects",
                         R"({"name":"shop","canvas":{"nodes":[{"id":"auth-service","type":"service"}]}})");
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id(created.json().at("id").as_string());
  auto put = request(http::verb::put, "/api/projects/" + id + "/canvas",
                     R"({"nodes":[{"id":"auth-service","type":"service"},{"id":"db","type":"database"}]})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json().at("version").as_int64(), 2);
  auto got = request(http::verb::get, "/api/projects/" + id);
  EXPECT_EQ(got.json().at("canvas").at("nodes").as_array().size(), 2u);
  auto v1 = request(http::verb::get, "/api/projects/" + id + "/canvas?version=1");
  EXPECT_EQ(v1.json().at("nodes").as_array().size(), 1u);
  auto list = request(http::verb::get, "/api/projects");
  EXPECT_EQ(list.json().at("projects").as_array().size(), 1u);
  auto mermaid = request(http::verb::get, "/api/projects/" + id + "/export?format=mermaid");
  EXPECT_EQ(mermaid.status, 200);
  EXPECT_TRUE(mermaid.body.starts_with("flowchart"));
  EXPECT_EQ(request(http::verb::get, "/api/projects/" + id + "/export?format=visio").status, 400);
  EXPECT_EQ(request(http::verb::get, "/healthz").status, 200);
}

TEST_F(ServerTest, BadRequestsGetClearErrorsAndNothingBreaks) {
  ServerOptions options;
  options.maxBodyBytes = 4096;
  startServer(options);
  struct Case {
    http::verb method;
    std::string target, body;
    int status;
    std::string message;
  };
  for (const auto& c : std::vector<Case>{
           {http::verb::post, "/api/projects", "{\"name\": ", 400, "request body: invalid JSON at line 1"},
           {http::verb::post, "/api/projects", "{}", 400, "body.name: required field is missing"},
           {http::verb::post, "/api/projects", R"({"name":"x","canvas":{"nodes":[{"id":1}]}})", 400,
            "body.canvas.nodes[0].id: expected a string"},
           {http::verb::get, "/api/projects/prj_nope", "", 404, "project prj_nope not found"},
           {http::verb::get, "/api/executions/exec_nope", "", 404, "execution exec_nope not found"},
           {http::verb::get, "/api/executions/exec_nope/events?after=0", "", 404, "not found"},
           {http::verb::get, "/api/executions/exec_nope/files", "", 404, "not found"},
           {http::verb::post, "/api/design", R"({"request":"   "})", 400, "request is empty"},
           {http::verb::post, "/api/design", R"({"request":"build a shop","options":{"simulateLatency":-1}})", 400,
            "body.options.simulateLatency: must be from 0 to 100"},
           {http::verb::post, "/api/design", R"({"request":"scale auth","projectId":"prj_nope"})", 404, "not found"},
           {http::verb::post, "/api/design", std::string(5000, ' '), 413, "larger than 4096 bytes"},
           {http::verb::delete_, "/api/projects", "", 405, "not allowed"},
           {http::verb::get, "/api/executions/x/events?after=99999999999999999999999", "", 400, "query parameter 'after'"},
           {http::verb::get, "/api/nowhere", "", 404, "no route"},
       }) {
    auto r = request(c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.target << " " << c.body.substr(0, 60) << " -> " << r.body;
    EXPECT_NE(r.body.find(c.message), std::string::npos) << r.body;
    if (c.status < 500) {
      EXPECT_TRUE(r.json().as_object().contains("error")) << r.body;
    }
  }
  EXPECT_EQ(request(http::verb::get, "/healthz").status, 200);  // still serving
}

TEST_F(ServerTest, AllThreeTransportsSeeTheSameCompleteSequence) {
  startServer();
  const std::string id = startDesign(kExample1, 0.004);  // ~0.9 s of simulated work
  std::vector<std::uint64_t> poll, sse, ws;
  std::thread a([&] { poll = followByLongPoll(id); });
  std::thread b([&] { sse = followBySse(id); });
  std::thread c([&] { ws = followByWebSocket(id); });
  a.join();
  b.join();
  c.join();
  ASSERT_GT(poll.size(), 30u);
  EXPECT_EQ(poll, range(1, poll.size()));
  EXPECT_EQ(sse, poll);
  EXPECT_EQ(ws, poll);
  // Reconnecting from the middle continues exactly where the client was.
  EXPECT_EQ(followByWebSocket(id, 20), range(21, poll.size()));
  EXPECT_EQ(followBySse(id, 20), range(21, poll.size()));

  auto state = request(http::verb::get, "/api/executions/" + id);
  ASSERT_EQ(state.status, 200);
  EXPECT_EQ(state.json().at("status").as_string(), "completed");
  EXPECT_EQ(state.json().at("lastSeq").to_number<std::uint64_t>(), poll.size());
  auto files = request(http::verb::get, "/api/executions/" + id + "/files");
  ASSERT_EQ(files.status, 200);
  EXPECT_GT(files.json().at("files").as_array().size(), 50u);
  auto schema = request(http::verb::get, "/api/executions/" + id + "/files/database/schema.sql");
  EXPECT_EQ(schema.status, 200);
  EXPECT_NE(schema.body.find("CREATE TABLE"), std::string::npos);
  auto zip = request(http::verb::get, "/api/executions/" + id + "/files?format=zip");
  ASSERT_EQ(zip.status, 200);
  auto zipPath = std::filesystem::temp_directory_path() / (id + ".zip");
  std::ofstream(zipPath, std::ios::binary) << zip.body;
  // A real reader checks every entry's CRC and lists the schema.
  std::string check = "python3 -c \"import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; "
                      "assert 'database/schema.sql' in z.namelist(); print(len(z.namelist()))\" " + zipPath.string();
  EXPECT_EQ(std::system(check.c_str()), 0);
  std::filesystem::remove(zipPath);
  auto metrics = request(http::verb::get, "/metrics");
  EXPECT_NE(metrics.body.find("youmeyou_events_published_total"), std::string::npos);
  EXPECT_NE(metrics.body.find("youmeyou_executions{state=\"completed\"} 1"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("youmeyou_open_connections{transport=\"websocket\"}"), std::string::npos);
  // Latency histograms by route, never by id: one design request, three files requests, and
  // cumulative buckets ending in +Inf.
  EXPECT_NE(metrics.body.find("youmeyou_http_request_duration_seconds_count{route=\"design\"} 1\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("youmeyou_http_request_duration_seconds_bucket{route=\"files\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_EQ(metrics.body.find(id), std::string::npos);
  std::uint64_t previous = 0;
  std::istringstream lines(metrics.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("youmeyou_http_request_duration_seconds_bucket{route=\"files\"", 0) != 0) continue;
    const std::uint64_t n = std::stoull(line.substr(line.rfind(' ') + 1));
    EXPECT_GE(n, previous) << line;
    previous = n;
  }
}

TEST_F(ServerTest, ReconnectStormLosesNothing) {
  startServer();
  const std::string id = startDesign(kExample1, 0.004);
  // Clients that drop and resume from their last seq, over and over, while the run goes on.
  std::vector<std::uint64_t> seen;
  std::uint64_t last = 0;
  bool done = false;
  while (!done) {
    WsClient c(port_);
    c.read();  // connected
    c.send({{"type", "subscribe"}, {"executionId", id}, {"after", last}});
    for (int i = 0; i < 3 && !done; ++i) {
      auto e = c.read();
      last = e.at("seq").to_number<std::uint64_t>();
      seen.push_back(last);
      done = e.at("type").as_string() == "executionSummary";
    }
    boost::system::error_code ec;
    c.ws.next_layer().close(ec);  // drop without a close handshake
  }
  EXPECT_EQ(seen, range(1, seen.size()));
}

TEST_F(ServerTest, WebSocketProtocolErrors) {
  startServer();
  const std::string id = startDesign("add a wishlist service to my store", 0);
  followByLongPoll(id);
  {
    WsClient c(port_);
    c.read();
    c.ws.write(net::buffer(std::string("not json")));
    EXPECT_EQ(c.read().at("type").as_string(), "error");
    c.send({{"type", "subscribe"}, {"executionId", "exec_nope"}});
    auto err = c.read();
    EXPECT_EQ(err.at("type").as_string(), "error");
    EXPECT_NE(err.at("message").as_string().find("not found"), std::string::npos);
    c.send({{"type", "launch"}});
    EXPECT_NE(c.read().at("message").as_string().find("unknown message type"), std::string::npos);
    c.send({{"type", "ping"}});
    EXPECT_EQ(c.read().at("type").as_string(), "pong");
  }
  {
    WsClient c(port_);
    c.read();
    c.ws.binary(true);
    c.ws.write(net::buffer(std::string("\x01\x02")));
    beast::flat_buffer b;
    boost::system::error_code ec;
    c.ws.read(b, ec);
    EXPECT_EQ(ec, websocket::error::closed);
    EXPECT_EQ(c.ws.reason().code, websocket::close_code::bad_payload);
  }
  {
    WsClient c(port_);
    c.read();
    c.ws.write(net::buffer(std::string(200 * 1024, 'x')));
    beast::flat_buffer b;
    boost::system::error_code ec;
    c.ws.read(b, ec);
    EXPECT_EQ(ec, websocket::error::closed);
    EXPECT_EQ(c.ws.reason().code, websocket::close_code::too_big);
  }
}

// A raw socket that speaks just enough WebSocket for the tests below.
struct RawClient {
  net::io_context ioc;
  tcp::socket socket{ioc};
  explicit RawClient(unsigned short port, const std::string& extra = "") {
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    net::write(socket, net::buffer("GET /stream?clientId=raw HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                   "Sec-WebSocket-Version: 13\r\n\r\n" +
                                   extra));
    timeval guard{20, 0};  // a broken server fails the test instead of hanging it
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  }
  // Everything until the server closes the connection (or the guard expires).
  std::string readToEnd() {
    std::string all;
    char buffer[4096];
    boost::system::error_code ec;
    while (!ec) all.append(buffer, socket.read_some(net::buffer(buffer), ec));
    return all;
  }
  // Server frames after the upgrade response: {opcode, payload}.
  static std::vector<std::pair<int, std::string>> frames(const std::string& bytes) {
    std::vector<std::pair<int, std::string>> out;
    std::size_t i = bytes.find("\r\n\r\n");
    if (i == std::string::npos) return out;
    i += 4;
    while (i + 2 <= bytes.size()) {
      const int opcode = static_cast<unsigned char>(bytes[i]) & 0x0F;
      std::size_t length = static_cast<unsigned char>(bytes[i + 1]) & 0x7F, header = 2;
      if (length == 126) {
        length = (static_cast<unsigned char>(bytes[i + 2]) << 8) | static_cast<unsigned char>(bytes[i + 3]);
        header = 4;
      }
      if (i + header + length > bytes.size()) break;
      out.emplace_back(opcode, bytes.substr(i + header, length));
      i += header + length;
    }
    return out;
  }
  static std::string masked(const std::string& text) {  // a text frame with a zero mask
    std::string f = "\x81";
    f.push_back(static_cast<char>(0x80 | text.size()));
    f.append(4, '\0');
    return f + text;
  }
};

TEST_F(ServerTest, HeartbeatsKeepAnsweringClientsAliveAndSilentOnesAreClosed) {
  ServerOptions options;
  options.heartbeat = std::chrono::milliseconds(40);
  options.idleTimeout = std::chrono::milliseconds(300);
  startServer(options);

  // A client that answers pings (Beast does) outlives the idle timeout.
  WsClient alive(port_);
  alive.read();
  int pings = 0;
  alive.ws.control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping) ++pings;
  });
  beast::flat_buffer b;
  bool closed = false;
  alive.ws.async_read(b, [&](boost::system::error_code ec, std::size_t) { closed = static_cast<bool>(ec); });
  alive.ioc.run_for(std::chrono::milliseconds(900));  // three idle timeouts
  EXPECT_GE(pings, 5);
  EXPECT_FALSE(closed);

  // A client that never answers gets pings, then a close frame naming the reason.
  RawClient silent(port_);
  auto frames = RawClient::frames(silent.readToEnd());
  ASSERT_GE(frames.size(), 3u);
  EXPECT_EQ(frames.front().first, 1);  // {"type":"connected"}
  EXPECT_EQ(frames[1].first, 9);       // ping
  const auto& close = frames.back();
  ASSERT_EQ(close.first, 8);
  ASSERT_GE(close.second.size(), 2u);
  EXPECT_EQ((static_cast<unsigned char>(close.second[0]) << 8) | static_cast<unsigned char>(close.second[1]), 1001);
  EXPECT_NE(close.second.find("idle"), std::string::npos) << close.second;
}

TEST_F(ServerTest, PingsAreAnsweredAndFramesSentWithTheUpgradeAreRead) {
  startServer();
  const std::string id = startDesign("add a wishlist service to my store", 0);
  const auto all = followByLongPoll(id);

  WsClient c(port_);
  c.read();
  std::string pong;
  c.ws.control_callback([&](websocket::frame_type kind, beast::string_view payload) {
    if (kind == websocket::frame_type::pong) pong = std::string(payload);
  });
  c.ws.ping("are-you-there");
  c.send({{"type", "ping"}});  // the JSON ping's reply comes after the control pong
  EXPECT_EQ(c.read().at("type").as_string(), "pong");
  EXPECT_EQ(pong, "are-you-there");

  // A subscribe pipelined right behind the upgrade request is not lost.
  RawClient raw(port_, RawClient::masked("{\"type\":\"subscribe\",\"executionId\":\"" + id + "\",\"after\":0}"));
  std::string bytes;
  char buffer[4096];
  while (bytes.find("executionSummary") == std::string::npos) {
    boost::system::error_code ec;
    bytes.append(buffer, raw.socket.read_some(net::buffer(buffer), ec));
    ASSERT_FALSE(ec) << ec.message();
  }
  std::vector<std::uint64_t> seqs;
  for (const auto& [opcode, payload] : RawClient::frames(bytes)) {
    auto v = json::parse(payload, "frame");
    ASSERT_TRUE(v) << payload;
    if (v->as_object().contains("seq")) seqs.push_back(v->at("seq").to_number<std::uint64_t>());
  }
  EXPECT_EQ(seqs, all);
}

TEST_F(ServerTest, AClientThatCannotKeepUpIsCutOffWithAReason) {
  ServerOptions options;
  options.streamQueueLimit = 4;
  startServer(options);
  const std::string id = startDesign("add a wishlist service to my store", 0);
  auto all = followByLongPoll(id);
  ASSERT_GT(all.size(), 8u);
  WsClient c(port_);
  c.read();
  c.send({{"type", "subscribe"}, {"executionId", id}, {"after", 0}});  // the replay overflows the queue of 4
  boost::system::error_code ec;
  for (int i = 0; i < 100 && !ec; ++i) {
    beast::flat_buffer b;
    c.ws.read(b, ec);
  }
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(c.ws.reason().code, websocket::close_code::policy_error);
  EXPECT_NE(std::string(c.ws.reason().reason.data(), c.ws.reason().reason.size()).find("send queue full"),
            std::string::npos);
  EXPECT_NE(request(http::verb::get, "/metrics").body.find("youmeyou_slow_clients_disconnected_total 1"),
            std::string::npos);
}

// The spec's Example 3 through the API: edit the schema step while it runs.
TEST_F(ServerTest, Example3EditingARunningStepRegeneratesOnlyWhatItFeeds) {
  ServerOptions options;
  options.modificationCooldown = std::chrono::milliseconds(0);
  startServer(options);
  const std::string id = startDesign(kExample1, 0.03);
  // Wait (on the log, not the clock) until task_2 is running.
  std::uint64_t after = 0;
  for (bool running = false; !running;) {
    auto r = request(http::verb::get, "/api/executions/" + id + "/events?after=" + std::to_string(after) + "&wait=10");
    ASSERT_EQ(r.status, 200) << r.body;
    const auto page = r.json();
    for (const auto& e : page.at("events").as_array()) {
      running = running || (e.at("type").as_string() == "taskStarted" && e.at("taskId").as_string() == "task_2");
    }
    after = page.at("next").to_number<std::uint64_t>();
  }
  const std::string base = "/api/executions/" + id + "/tasks/task_2/modifications";
  const std::string prompt =
      "Create database schema for users, products, orders, carts, payments, AND recommendation engine with user "
      "behavior tracking, product similarity, and recommendation history";
  auto body = [](const std::string& p) { return json::compact(boost::json::object{{"prompt", p}}); };

  auto preview = request(http::verb::post, base + "/preview", body(prompt));
  ASSERT_EQ(preview.status, 200) << preview.body;
  auto impact = preview.json().at("impact");
  EXPECT_EQ(json::compact(impact.at("affectedTasks")), R"(["task_4","task_5","task_8"])") << preview.body;
  EXPECT_EQ(json::compact(impact.at("unaffectedTasks")), R"(["task_3","task_6"])") << preview.body;
  // Restarting task_2 adds at most its own 30 s (less the part it had not done yet).
  EXPECT_GE(impact.at("additionalTime").to_number<double>(), 0);
  EXPECT_LE(impact.at("additionalTime").to_number<double>(), 30);
  // The preview changed nothing.
  auto state = request(http::verb::get, "/api/executions/" + id).json();
  EXPECT_EQ(state.at("tasks").as_array()[1].at("generation").as_int64(), 0);
  EXPECT_EQ(state.at("tasks").as_array()[1].at("prompt").as_string().find("recommendation"), std::string::npos);

  auto applied = request(http::verb::post, base, body(prompt));
  ASSERT_EQ(applied.status, 202) << applied.body;
  // Two more are allowed (cooldown off here); a fourth is refused and changes nothing.
  ASSERT_EQ(request(http::verb::post, base, body(prompt + ", and wishlists")).status, 202);
  ASSERT_EQ(request(http::verb::post, base, body(prompt + ", and product reviews")).status, 202);
  auto fourth = request(http::verb::post, base, body(prompt + " v4"));
  EXPECT_EQ(fourth.status, 409) << fourth.body;
  EXPECT_NE(fourth.body.find("3 times"), std::string::npos) << fourth.body;

  auto seqs = followByLongPoll(id);
  EXPECT_EQ(seqs, range(1, seqs.size()));
  std::map<std::string, int> starts;
  std::vector<std::string> types;
  std::uint64_t cursor = 0;
  for (;;) {
    auto r = request(http::verb::get, "/api/executions/" + id + "/events?after=" + std::to_string(cursor) + "&limit=5000");
    const auto page = r.json();
    const auto& events = page.at("events").as_array();
    if (events.empty()) break;
    for (const auto& e : events) {
      types.emplace_back(e.at("type").as_string());
      if (e.at("type").as_string() == "taskStarted") ++starts[std::string(e.at("taskId").as_string())];
    }
    cursor = page.at("next").to_number<std::uint64_t>();
  }
  for (const char* t : {"modificationValidated", "impactAnalysis", "regenerationStarted"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
  }
  // Auth and payment ran once; the schema ran again for each modification.
  EXPECT_EQ(starts["task_3"], 1);
  EXPECT_EQ(starts["task_6"], 1);
  EXPECT_EQ(starts["task_2"], 4);
  auto final = request(http::verb::get, "/api/executions/" + id).json();
  EXPECT_EQ(final.at("status").as_string(), "completed") << json::compact(final);
  const auto& summary = final.at("summary").at("modifications");
  EXPECT_EQ(summary.at("count").as_int64(), 3);
  EXPECT_EQ(json::compact(summary.at("keptTasks")), R"(["task_1","task_3","task_6","task_7"])");
  EXPECT_EQ(final.at("modifications").at("task_2").at("count").as_int64(), 3);

  // The product service and the schema now carry the recommendation engine.
  auto schema = request(http::verb::get, "/api/executions/" + id + "/files/database/schema.sql");
  ASSERT_EQ(schema.status, 200);
  EXPECT_NE(schema.body.find("recommendation"), std::string::npos);
  EXPECT_NE(schema.body.find("review"), std::string::npos);  // the third modification's addition
  auto list = request(http::verb::get, "/api/executions/" + id + "/files").json();
  bool productRecommendations = false;
  for (const auto& f : list.at("files").as_array()) {
    const std::string path(f.at("path").as_string());
    productRecommendations = productRecommendations || (path.find("product") != std::string::npos &&
                                                        path.find("recommendation") != std::string::npos);
  }
  EXPECT_TRUE(productRecommendations) << json::compact(list);
}

TEST_F(ServerTest, ModificationHistoryAndLimitsSurviveARestart) {
  const auto dir = std::filesystem::temp_directory_path() / store::newId("ymy-restart");
  std::filesystem::create_directories(dir);
  ServerOptions options;
  options.port = 0;
  options.modificationCooldown = std::chrono::milliseconds(0);
  auto open = [&] {
    auto opened = store::openSqliteStore(dir / "youmeyou.db");
    EXPECT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    server_ = std::make_unique<Server>(options, *engine_, *store_);
    auto port = server_->start();
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
  };
  open();
  const std::string id = startDesign(kExample1, 0.05);
  const std::string base = "/api/executions/" + id + "/tasks/task_7/modifications";  // the frontend: runs from the start
  auto body = [](const std::string& p) { return json::compact(boost::json::object{{"prompt", p}}); };
  ASSERT_EQ(request(http::verb::post, base, body("Generate React components with a dark theme")).status, 202);
  ASSERT_EQ(request(http::verb::post, base, body("Generate React components with a light theme")).status, 202);
  server_->stop("restarting");
  server_->wait();
  server_.reset();
  store_.reset();

  open();  // resumes the run from the database
  auto state = request(http::verb::get, "/api/executions/" + id).json();
  EXPECT_EQ(state.at("modifications").at("task_7").at("count").as_int64(), 2) << json::compact(state);
  EXPECT_EQ(state.at("tasks").as_array()[6].at("prompt").as_string(), "Generate React components with a light theme");
  ASSERT_EQ(request(http::verb::post, base, body("Generate React components, high contrast")).status, 202);
  auto fourth = request(http::verb::post, base, body("Generate React components, sepia"));
  EXPECT_EQ(fourth.status, 409) << fourth.body;
  EXPECT_EQ(request(http::verb::post, "/api/executions/" + id + "/cancel").status, 202);
  auto seqs = followByLongPoll(id);
  EXPECT_EQ(seqs, range(1, seqs.size()));  // one log across the restart
  auto final = request(http::verb::get, "/api/executions/" + id).json();
  EXPECT_EQ(final.at("status").as_string(), "cancelled");
  EXPECT_EQ(final.at("summary").at("modifications").at("count").as_int64(), 3);
  server_->stop("test over");
  server_->wait();
  server_.reset();
  store_.reset();
  std::filesystem::remove_all(dir);
}

TEST_F(ServerTest, ModificationRefusalsSayWhy) {
  startServer();  // the default 10 s cooldown
  const std::string id = startDesign(kExample1, 0.05);
  const std::string base = "/api/executions/" + id + "/tasks/";
  auto body = [](const std::string& p) { return json::compact(boost::json::object{{"prompt", p}}); };
  auto r = request(http::verb::post, base + "task_7/modifications", body("Generate React components with a dark theme"));
  ASSERT_EQ(r.status, 202) << r.body;
  r = request(http::verb::post, base + "task_7/modifications", body("Generate React components with a light theme"));
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_NE(r.body.find("cooldown"), std::string::npos) << r.body;
  // Every 429 says when to retry: what is left of the cooldown, rounded up
  // (at most the whole 10 s, at least 1).
  ASSERT_EQ(r.headers.count("Retry-After"), 1u) << r.body;
  const int seconds = std::stoi(r.headers["Retry-After"]);
  EXPECT_GE(seconds, 1);
  EXPECT_LE(seconds, 10);
  EXPECT_EQ(request(http::verb::post, base + "task_42/modifications/preview", body("x")).status, 404);
  EXPECT_EQ(request(http::verb::post, "/api/executions/exec_nope/tasks/task_1/modifications", body("x")).status, 404);
  r = request(http::verb::post, base + "task_8/modifications/preview", body("   "));
  EXPECT_EQ(r.status, 422) << r.body;
  r = request(http::verb::post, base + "task_8/modifications/preview", R"({"prompt": 7})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("body.prompt"), std::string::npos) << r.body;
  EXPECT_EQ(request(http::verb::get, base + "task_8/modifications").status, 405);
  EXPECT_EQ(request(http::verb::post, "/api/executions/" + id + "/cancel").status, 202);
  followByLongPoll(id);
  r = request(http::verb::post, base + "task_8/modifications", body("Generate more tests"));
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("only a run in progress can be modified"), std::string::npos) << r.body;
}

// The spec's Example 2 through the API: the static path against a posted canvas.
TEST_F(ServerTest, Example2ScalesTheAuthServiceThroughTheApi) {
  startServer();
  auto canvas = json::parseFile(test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json", "canvas");
  ASSERT_TRUE(canvas);
  auto r = request(http::verb::post, "/api/design",
                   json::compact(boost::json::object{
                       {"request", "Fix the auth service in my design and make it scalable to 5000 RPS"},
                       {"canvas", *canvas}}));
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.json().at("route").as_string(), "STATIC");
  const std::string id(r.json().at("executionId").as_string());
  followByLongPoll(id);
  auto events = request(http::verb::get, "/api/executions/" + id + "/events?after=0&limit=5000").json();
  std::map<std::string, boost::json::value> byType;
  for (const auto& e : events.at("events").as_array()) byType[std::string(e.at("type").as_string())] = e;
  for (const char* t : {"bottlenecksIdentified", "scalingPlanGenerated", "analysisCompleted", "configurationGenerated",
                        "componentReplaced", "scalingCompleted"}) {
    EXPECT_TRUE(byType.count(t)) << t;
  }
  EXPECT_GE(byType["scalingCompleted"].at("newRPS").as_int64(), 5000);
  auto state = request(http::verb::get, "/api/executions/" + id).json();
  EXPECT_EQ(state.at("status").as_string(), "completed") << json::compact(state);
  auto merged = canvasFromJson(state.at("summary").at("canvas"));
  ASSERT_TRUE(merged) << merged.error().message;  // strict: no dangling edge, unique ids
  EXPECT_TRUE(merged->findNode("auth-service-lb"));
}

TEST_F(ServerTest, CacheRoutesMarkServeReportAndClear) {
  SystemClock clock;
  cache::DesignCacheOptions o;
  o.engineVersion = engine_->version();
  o.l3.applyInBackground = false;
  auto cache = cache::DesignCache::create(engine_->catalog(), o, clock);
  ASSERT_TRUE(cache) << cache.error().message;
  startServer({}, cache->get());

  const std::string text = "add a message queue between the order service and the email service";
  auto first = startDesign(text, 0);
  followByLongPoll(first);
  // The answer is stored just after the run's record is finished.
  for (int i = 0; i < 100000; ++i) {
    if (request(http::verb::get, "/api/cache").json().at("l1").at("entries").to_number<int>() == 2) break;
  }
  auto r = request(http::verb::post, "/api/design", json::compact(boost::json::object{{"request", text}}));
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.json().at("cache").as_string(), "L1");
  const std::string second(r.json().at("executionId").as_string());
  auto state = request(http::verb::get, "/api/executions/" + second);
  EXPECT_EQ(state.json().at("status").as_string(), "completed");
  EXPECT_EQ(state.json().at("summary").at("cache").as_string(), "L1");

  auto stats = request(http::verb::get, "/api/cache");
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_EQ(stats.json().at("tiers").at("L1").at("hits").to_number<int>(), 1);
  EXPECT_EQ(stats.json().at("engineVersion").as_string(), engine_->version());
  EXPECT_NE(request(http::verb::get, "/metrics").body.find("youmeyou_cache_hits_total{tier=\"L1\"} 1"),
            std::string::npos);

  // A request may skip the cache.
  r = request(http::verb::post, "/api/design",
              json::compact(boost::json::object{{"request", text}, {"options", {{"cache", false}}}}));
  EXPECT_EQ(r.json().at("cache").as_string(), "MISS");
  followByLongPoll(std::string(r.json().at("executionId").as_string()));

  auto report = request(http::verb::post, "/api/executions/" + second + "/cache-report");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(report.json().at("tier").as_string(), "L1");
  EXPECT_EQ(request(http::verb::post, "/api/executions/" + first + "/cache-report").status, 409);
  EXPECT_EQ(request(http::verb::post, "/api/executions/exec_unknown/cache-report").status, 404);
  EXPECT_EQ(request(http::verb::get, "/api/executions/" + second + "/cache-report").status, 405);
  EXPECT_NE(request(http::verb::get, "/metrics").body.find("youmeyou_cache_false_hit_reports_total{tier=\"L1\"} 1"),
            std::string::npos);

  auto cleared = request(http::verb::delete_, "/api/cache");
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(request(http::verb::get, "/api/cache").json().at("l1").at("entries").to_number<int>(), 0);
}

TEST_F(ServerTest, ServesTheWebAppWithCacheHeadersAndClientRoutes) {
  const auto root = std::filesystem::temp_directory_path() / ("ymy_web_" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "assets");
  std::ofstream(root / "index.html") << "<!doctype html><div id=root></div>";
  std::ofstream(root / "assets" / "index-abc123.js") << "console.log(1)";
  ServerOptions options;
  options.webRoot = root.string();
  startServer(options);

  auto get = [&](const std::string& target) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return res;
  };
  auto index = get("/");
  EXPECT_EQ(index.result_int(), 200);
  EXPECT_EQ(index[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(index[http::field::cache_control], "no-cache");
  auto route = get("/projects/prj_1");  // a client-side route: the app
  EXPECT_EQ(route.result_int(), 200);
  EXPECT_EQ(route.body(), index.body());
  auto asset = get("/assets/index-abc123.js");
  EXPECT_EQ(asset.result_int(), 200);
  EXPECT_EQ(asset[http::field::cache_control], "public, max-age=31536000, immutable");
  EXPECT_EQ(asset[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/assets/missing.js").result_int(), 404);
  EXPECT_EQ(get("/favicon.ico").result_int(), 404);
  EXPECT_EQ(get("/..%2F..%2Fetc%2Fpasswd").result_int(), 400);
  EXPECT_EQ(get("/api/nothing").result_int(), 404);  // the API never falls back to the app
  EXPECT_EQ(get("/healthz").result_int(), 200);
  std::filesystem::remove_all(root);
}

TEST_F(ServerTest, CacheRoutesSayWhenTheCacheIsOff) {
  startServer();
  auto r = request(http::verb::get, "/api/cache");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("cache is off"), std::string::npos) << r.body;
}

TEST_F(ServerTest, CancelStopsARunningExecution) {
  startServer();
  const std::string id = startDesign(kExample1, 1.0);  // minutes of simulated work
  auto r = request(http::verb::post, "/api/executions/" + id + "/cancel");
  EXPECT_EQ(r.status, 202) << r.body;
  auto seqs = followByLongPoll(id);
  EXPECT_EQ(seqs, range(1, seqs.size()));
  auto state = request(http::verb::get, "/api/executions/" + id);
  EXPECT_EQ(state.json().at("status").as_string(), "cancelled");
}

// An SSE request on a raw socket, read until the server ends the stream. A
// heartbeat stops the read too: on a stream that should have ended it means
// the server would send them forever.
std::string sseUntilEndOrHeartbeat(unsigned short port, const std::string& target, const std::string& headers = "") {
  net::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  net::write(socket, net::buffer("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + headers + "\r\n"));
  timeval guard{20, 0};  // a broken server fails the test instead of hanging it
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  std::string all;
  char buffer[4096];
  boost::system::error_code ec;
  while (!ec && all.find(": heartbeat") == std::string::npos) all.append(buffer, socket.read_some(net::buffer(buffer), ec));
  return all;
}

std::size_t countIds(const std::string& sse) {
  std::size_t n = 0;
  for (std::size_t pos = 0; (pos = sse.find("\nid: ", pos)) != std::string::npos; ++pos) ++n;
  return n;
}

TEST_F(ServerTest, AStreamAtTheEndOfAFinishedExecutionEndsInsteadOfWaiting) {
  ServerOptions options;
  options.heartbeat = std::chrono::milliseconds(100);
  startServer(options);
  const std::string id = startDesign("add a wishlist service to my store", 0);
  const auto seqs = followByLongPoll(id);
  ASSERT_FALSE(seqs.empty());
  const std::uint64_t last = seqs.back();
  const std::string stream = "/api/executions/" + id + "/stream";

  // At the end, past it, by header or by ?after=: nothing is left, and the
  // stream ends as it does after a live run's summary.
  for (const auto& [target, header] : std::vector<std::pair<std::string, std::string>>{
           {stream, "Last-Event-ID: " + std::to_string(last) + "\r\n"},
           {stream, "Last-Event-ID: " + std::to_string(last + 50) + "\r\n"},
           {stream + "?after=" + std::to_string(last), ""},
           {stream + "?after=" + std::to_string(last + 50), ""}}) {
    const auto data = sseUntilEndOrHeartbeat(port_, target, header);
    EXPECT_NE(data.find("200 OK"), std::string::npos) << target << " " << header << data;
    EXPECT_EQ(data.find(": heartbeat"), std::string::npos) << target << " " << header << " kept the stream open";
    EXPECT_EQ(countIds(data), 0u) << data;
  }
  // Two before the end: those two, then the end.
  const auto data = sseUntilEndOrHeartbeat(port_, stream, "Last-Event-ID: " + std::to_string(last - 2) + "\r\n");
  EXPECT_EQ(countIds(data), 2u) << data;
  EXPECT_NE(data.find("executionSummary"), std::string::npos);
  EXPECT_EQ(data.find(": heartbeat"), std::string::npos);
}

TEST_F(ServerTest, AStreamPastTheEndOfARunningExecutionEndsWhenItFinishes) {
  ServerOptions options;
  options.heartbeat = std::chrono::milliseconds(50);
  startServer(options);
  const std::string id = startDesign("add a wishlist service to my store", 0.01);
  // Past any seq this run will reach: the client takes what comes next, and
  // the stream still ends, by the summary or (if the run finished first) at once.
  net::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  net::write(socket, net::buffer("GET /api/executions/" + id +
                                 "/stream HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: 100000\r\n\r\n"));
  timeval guard{20, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  std::string all;
  char buffer[4096];
  boost::system::error_code ec;
  while (!ec) all.append(buffer, socket.read_some(net::buffer(buffer), ec));
  EXPECT_EQ(ec, net::error::eof) << all;  // ended by the server, not by the guard
}

TEST_F(ServerTest, LongPollOnAFinishedExecutionAnswersAtOnceAndSaysItIsFinished) {
  startServer();
  const std::string id = startDesign("add a wishlist service to my store", 0);
  const auto seqs = followByLongPoll(id);
  ASSERT_FALSE(seqs.empty());
  const std::uint64_t last = seqs.back();
  const std::string events = "/api/executions/" + id + "/events";

  for (const std::uint64_t after : {last, last + 50}) {
    const auto started = std::chrono::steady_clock::now();
    auto r = request(http::verb::get, events + "?after=" + std::to_string(after) + "&wait=60");
    // Bounded far below the 60 s asked for: a server that waits fails.
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = r.json();
    EXPECT_TRUE(v.at("events").as_array().empty());
    EXPECT_EQ(v.at("next").to_number<std::uint64_t>(), after);
    EXPECT_EQ(v.at("finished"), true) << r.body;
  }
  // A page that stops short of the end is not the end.
  auto page = request(http::verb::get, events + "?after=0&limit=2");
  EXPECT_EQ(page.json().at("events").as_array().size(), 2u);
  EXPECT_EQ(page.json().at("finished"), false) << page.body;
  // The page that reaches the summary is.
  page = request(http::verb::get, events + "?after=" + std::to_string(last - 1));
  EXPECT_EQ(page.json().at("finished"), true) << page.body;

  auto zero = request(http::verb::get, events + "?after=0&limit=0");
  EXPECT_EQ(zero.status, 400) << zero.body;
  EXPECT_NE(zero.body.find("query parameter 'limit' must be at least 1"), std::string::npos) << zero.body;
}

TEST_F(ServerTest, SseResumePositionsAreCheckedAndErrorsSayWhereTheyCameFrom) {
  startServer();
  const std::string id = startDesign("add a wishlist service to my store", 0);
  followByLongPoll(id);
  const std::string stream = "/api/executions/" + id + "/stream";
  auto r = request(http::verb::get, stream + "?after=abc");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("query parameter 'after'"), std::string::npos) << r.body;
  r = request(http::verb::get, stream + "?after=-1");
  EXPECT_EQ(r.status, 400) << r.body;
  r = request(http::verb::get, stream, "", {{"Last-Event-ID", "abc"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("header 'Last-Event-ID'"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("query parameter"), std::string::npos) << r.body;
}

TEST_F(ServerTest, WebSocketClientIdsAreUtf8AndCutOnACharacterBoundary) {
  startServer();
  {
    WsClient probe(port_);  // the server is up
    probe.read();
  }
  {
    net::io_context ioc;
    websocket::stream<tcp::socket> ws{ioc};
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    websocket::response_type res;
    boost::system::error_code ec;
    ws.handshake(res, "localhost", "/stream?clientId=%ff%fe", ec);
    EXPECT_TRUE(ec);
    EXPECT_EQ(res.result_int(), 400u);
    EXPECT_NE(res.body().find("query parameter 'clientId' is not valid UTF-8"), std::string::npos) << res.body();
  }
  {
    // 127 ASCII bytes then a 2-byte character: 129 bytes, cut to 127 (not 128, mid-character).
    net::io_context ioc;
    websocket::stream<tcp::socket> ws{ioc};
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    ws.handshake("localhost", "/stream?clientId=" + std::string(127, 'a') + "%C3%A9");
    beast::flat_buffer b;
    ws.read(b);  // Beast refuses a text frame that is not UTF-8
    auto hello = json::parse(beast::buffers_to_string(b.data()), "ws");
    ASSERT_TRUE(hello) << hello.error().message;
    EXPECT_EQ(hello->at("clientId").as_string(), std::string(127, 'a'));
  }
  {
    net::io_context ioc;
    websocket::stream<tcp::socket> ws{ioc};
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    ws.handshake("localhost", "/stream?clientId=" + std::string(126, 'a') + "%C3%A9");  // fits: kept whole
    beast::flat_buffer b;
    ws.read(b);
    EXPECT_EQ(json::parse(beast::buffers_to_string(b.data()), "ws")->at("clientId").as_string(),
              std::string(126, 'a') + "\xC3\xA9");
  }
}

TEST_F(ServerTest, WebSocketSubscribeRefusesANegativeOrFractionalAfter) {
  startServer();
  const std::string id = startDesign("add a wishlist service to my store", 0);
  followByLongPoll(id);
  WsClient c(port_);
  c.read();
  for (const auto& after : {boost::json::value(-1), boost::json::value(1.5), boost::json::value("3")}) {
    c.send({{"type", "subscribe"}, {"executionId", id}, {"after", after}});
    c.send({{"type", "ping"}});  // the answer to the subscribe comes first
    auto err = c.read();
    ASSERT_EQ(err.at("type").as_string(), "error") << json::compact(err);  // (a pong here: it was accepted)
    EXPECT_NE(json::compact(err).find("message.after"), std::string::npos) << json::compact(err);
    EXPECT_EQ(c.read().at("type").as_string(), "pong");
  }
  // A valid one still works on the same connection.
  c.send({{"type", "subscribe"}, {"executionId", id}, {"after", 0}});
  EXPECT_EQ(c.read().at("seq").to_number<std::uint64_t>(), 1u);
}

TEST_F(ServerTest, CancellingAFinishedExecutionIsAConflict) {
  startServer();
  const std::string id = startDesign("add a wishlist service to my store", 0);
  followByLongPoll(id);
  auto r = request(http::verb::post, "/api/executions/" + id + "/cancel");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.json().at("error").at("code"), "conflict");
  EXPECT_NE(r.body.find("execution " + id + " already completed"), std::string::npos) << r.body;
  EXPECT_EQ(request(http::verb::post, "/api/executions/exec_nope/cancel").status, 404);
}

TEST_F(ServerTest, AWrongMethodIs405WithTheAllowedMethods) {
  startServer();
  struct Case {
    http::verb method;
    std::string target, allow;
  };
  for (const auto& c : std::vector<Case>{
           {http::verb::post, "/healthz", "GET"},
           {http::verb::head, "/healthz", "GET"},
           {http::verb::delete_, "/metrics", "GET"},
           {http::verb::get, "/api/auth/login", "POST"},
           {http::verb::get, "/api/auth/register", "POST"},
           {http::verb::post, "/api/auth/config", "GET"},
           {http::verb::get, "/session/validate", "POST"},
           {http::verb::delete_, "/api/projects", "GET, POST"},
           {http::verb::post, "/api/projects/prj_x", "GET"},
           {http::verb::delete_, "/api/projects/prj_x/canvas", "GET, PUT"},
           {http::verb::post, "/api/projects/prj_x/export", "GET"},
           {http::verb::get, "/api/design", "POST"},
           {http::verb::put, "/api/cache", "GET, DELETE"},
           {http::verb::delete_, "/api/executions/exec_x", "GET"},
           {http::verb::head, "/api/executions/exec_x", "GET"},
           {http::verb::get, "/api/executions/exec_x/cancel", "POST"},
           {http::verb::post, "/api/executions/exec_x/events", "GET"},
           {http::verb::post, "/api/executions/exec_x/stream", "GET"},
           {http::verb::head, "/api/executions/exec_x/stream", "GET"},
           {http::verb::post, "/api/executions/exec_x/files/a/b.sql", "GET"},
           {http::verb::get, "/api/executions/exec_x/cache-report", "POST"},
           {http::verb::get, "/api/executions/exec_x/tasks/task_1/modifications", "POST"},
           {http::verb::put, "/api/executions/exec_x/tasks/task_1/modifications/preview", "POST"},
       }) {
    auto r = request(c.method, c.target);
    EXPECT_EQ(r.status, 405) << http::to_string(c.method) << " " << c.target << " -> " << r.body;
    EXPECT_EQ(r.headers["Allow"], c.allow) << http::to_string(c.method) << " " << c.target;
    if (c.method != http::verb::head) {
      EXPECT_EQ(r.json().at("error").at("message").as_string(),
                std::string(http::to_string(c.method)) + " is not allowed on " + c.target + " (it accepts " + c.allow +
                    ")")
          << r.body;
    }
  }
  EXPECT_EQ(request(http::verb::get, "/api/nowhere").status, 404);  // no such path: still no route
  EXPECT_EQ(request(http::verb::get, "/api/auth/nowhere").status, 404);
}

TEST_F(ServerTest, ErrorBodiesStayUtf8WhateverThePathHeld) {
  startServer();
  for (const std::string target : {"/api/projects/%ff%fe", "/api/executions/%c3/files/%80x", "/api/nowhere/%ff"}) {
    auto r = request(http::verb::get, target);
    EXPECT_EQ(r.status, 404) << target;
    auto parsed = json::parse(r.body, "reply");  // rejects invalid UTF-8
    ASSERT_TRUE(parsed) << target << ": " << parsed.error().message;
    EXPECT_TRUE(parsed->at("error").at("message").is_string());
  }
  auto r = request(http::verb::get, "/api/projects/a%ffb");
  EXPECT_NE(r.body.find("project a\xEF\xBF\xBD" "b not found"), std::string::npos) << r.body;
}


}  // namespace
}  // namespace ymy::server
