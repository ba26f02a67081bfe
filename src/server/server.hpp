#pragma once
// The design service over HTTP: the API of DESIGN.md, streaming over
// WebSocket (/stream), SSE (/api/executions/{id}/stream) and long poll
// (/api/executions/{id}/events), one event log behind all three.
// Boost.Beast and Asio stay inside server.cpp; this header is light.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "engine/engine.hpp"
#include "agents/llm_agent.hpp"
#include "engine/llm_intent.hpp"
#include "engine/llm_planner.hpp"
#include "model/clock.hpp"
#include "model/error.hpp"
#include "store/store.hpp"

namespace ymy::cache {
class DesignCache;
}
namespace ymy::auth {
class AuthService;
class RateLimiter;
class TierTable;
}
namespace ymy::bus {
class Relay;
}

namespace ymy::server {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  unsigned short port = 4000;  // 0 picks a free port
  std::size_t threads = 2;  // one io_context per thread; connections are spread over them
  std::size_t maxHeaderBytes = 16 * 1024;
  std::size_t maxBodyBytes = 1024 * 1024;
  std::size_t maxWebSocketMessageBytes = 64 * 1024;
  std::chrono::seconds readTimeout{30};          // a request must arrive within this
  std::chrono::milliseconds idleTimeout{30 * 60'000};  // WebSockets with no client traffic, pongs included (the spec's 30 minutes)
  std::chrono::milliseconds heartbeat{15'000};         // SSE comments and WebSocket pings
  std::size_t streamQueueLimit = 8192;           // messages queued per streaming connection
  std::chrono::seconds maxLongPollWait{60};
  std::chrono::milliseconds modificationCooldown{10'000};  // between two modifications of one task; 0: none
  // Several instances on one shared store (PostgreSQL): this one's id (unique,
  // stable across its restarts) and the address the others reach it at for
  // commands on executions it runs ("http://10.0.0.5:4000"). Empty id: alone.
  // A client may send cancel and step modifications to any instance: one that
  // does not run the execution forwards them to the one that does.
  std::string instanceId;
  std::string advertiseAddress;
  std::chrono::milliseconds leaseTtl{5000};  // an owner that stops renewing is replaced after this
  // The built web app (web/dist): served at / for every GET outside the API,
  // index.html for client-side routes. Empty: no web app.
  std::string webRoot;
};

// What the server uses besides the engine and the store; each must outlive it.
struct ServerServices {
  cache::DesignCache* cache = nullptr;     // null: caching off
  auth::AuthService* auth = nullptr;       // null: auth off, one local user who may do everything
  auth::RateLimiter* limiter = nullptr;    // null: no rate limits (only meaningful with auth)
  const auth::TierTable* tiers = nullptr;  // required with auth
  engine::LlmPlanStage llmPlan{};          // no provider: the builtin planner; must outlive the server
  // Scale-out: events to and from the other instances sharing the store
  // (bus/relay.hpp, e.g. bus::makeRedisRelay). null: the in-process bus.
  // Must outlive the server.
  bus::Relay* relay = nullptr;
  agents::LlmAgentStage llmAgents{};       // no provider: builtin agents; must outlive the server
  engine::LlmIntentStage llmIntent{};      // no provider: the builtin analyzer; must outlive the server
};

class Server {
 public:
  // `store` and `engine` must outlive the server. Routes: DESIGN.md's, plus
  // GET /api/auth/config, GET/DELETE /api/cache (stats, clear) and
  // POST /api/executions/{id}/cache-report (a wrong cached answer).
  //
  // With auth, every /api route but register, login and config, and /stream
  // and /session/validate, need a bearer token (SSE and WebSocket may pass it
  // as ?access_token=); another user's projects and executions answer 404 on
  // every transport; each user's tier sets its permissions, request rate,
  // daily design runs, concurrent executions and plan size, and responses
  // carry RateLimit-Limit/Remaining/Reset (429s also Retry-After).
  Server(ServerOptions options, const engine::Engine& engine, store::Store& store, ServerServices services = {});
  ~Server();

  // Binds and starts serving; returns the bound port.
  Result<unsigned short> start();
  // Graceful: stop accepting, cancel running executions (they publish their
  // last events), close streams with a reason, then stop.
  void stop(const std::string& reason);
  // Blocks until the server has stopped.
  void wait();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ymy::server
