// The service's figures: from POST /api/design to the first event on the
// client's WebSocket stream, on a real server over loopback.
//
//   build/bench/youmeyou_bench --benchmark_filter=Server

#include <benchmark/benchmark.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <iostream>

#include "engine/engine.hpp"
#include "model/json_io.hpp"
#include "server/server.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace ymy;

const char* kExample1 =
    "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";

// One client: a keep-alive HTTP connection for POST /api/design and a
// WebSocket for the stream. Times POST -> first event (intentAnalyzed).
void BM_Server_DesignToFirstEvent(benchmark::State& state) {
  auto engine = engine::Engine::load(YOUMEYOU_SOURCE_DATA_DIR);
  if (!engine) {
    state.SkipWithError(engine.error().message.c_str());
    return;
  }
  auto store = store::makeMemoryStore();
  server::ServerOptions options;
  options.port = 0;
  server::Server server(options, **engine, *store);
  auto port = server.start();
  if (!port) {
    state.SkipWithError(port.error().message.c_str());
    return;
  }
  net::io_context ioc;
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), *port);
  beast::tcp_stream http(ioc);
  http.connect(endpoint);
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(endpoint);
  ws.handshake("localhost", "/stream?clientId=bench");
  beast::flat_buffer wsBuffer;
  ws.read(wsBuffer);  // connected
  wsBuffer.consume(wsBuffer.size());
  const std::string body = json::compact(boost::json::object{{"request", kExample1}});
  std::vector<double> micros;
  beast::flat_buffer httpBuffer;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    http::request<http::string_body> req{http::verb::post, "/api/design", 11};
    req.set(http::field::host, "localhost");
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(http, req);
    http::response<http::string_body> res;
    http::read(http, httpBuffer, res);
    auto v = json::parse(res.body(), "reply");
    std::string id(v->at("executionId").as_string());
    ws.write(net::buffer(json::compact(boost::json::object{{"type", "subscribe"}, {"executionId", id}, {"after", 0}})));
    ws.read(wsBuffer);
    auto t1 = std::chrono::steady_clock::now();
    micros.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    wsBuffer.consume(wsBuffer.size());
    ws.write(net::buffer(json::compact(boost::json::object{{"type", "unsubscribe"}, {"executionId", id}})));
    // Let this run finish before the next one starts, so each sample is one
    // request on an otherwise idle server (the background run is not timed).
    state.PauseTiming();
    for (;;) {
      http::request<http::string_body> poll{http::verb::get,
                                            "/api/executions/" + id + "/events?after=0&limit=5000&wait=5", 11};
      poll.set(http::field::host, "localhost");
      http::write(http, poll);
      http::response<http::string_body> page;
      http::read(http, httpBuffer, page);
      if (page.body().find("\"executionSummary\"") != std::string::npos) break;
    }
    while (ws.next_layer().available() > 0) {  // drain events that raced the unsubscribe
      ws.read(wsBuffer);
      wsBuffer.consume(wsBuffer.size());
    }
    state.ResumeTiming();
  }
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) { return micros[static_cast<std::size_t>(p * static_cast<double>(micros.size() - 1))]; };
  state.counters["p50_ms"] = pct(0.5) / 1000;
  state.counters["p99_ms"] = pct(0.99) / 1000;
  server.stop("bench over");
  server.wait();
}
BENCHMARK(BM_Server_DesignToFirstEvent)->Iterations(300)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
