#pragma once
// Which provider answers each stage (intent, plan, agents), where, with which
// model and key; the price table; redaction; the provider factory.
//
// The API key is never part of the configuration: the configuration names an
// environment variable, makeProvider() reads it, and only the provider
// object holds it (in memory, for its request headers). describe() and every
// error name the variable, never its value.

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "llm/http_transport.hpp"
#include "llm/provider.hpp"
#include "llm/resilience.hpp"
#include "model/clock.hpp"

namespace ymy::llm {

enum class ProviderKind { kBuiltin, kOpenAi, kGemini };
const char* providerKindName(ProviderKind kind);  // "builtin", "openai", "gemini"
// --llm's values; kInvalidArgument naming the accepted ones.
Result<ProviderKind> parseProviderKind(std::string_view text);

enum class Stage { kIntent, kPlan, kAgents };
const char* stageName(Stage stage);

// The documented public endpoints, used when no --llm-url is given.
inline constexpr std::string_view kOpenAiDefaultUrl = "https://api.openai.com";
inline constexpr std::string_view kGeminiDefaultUrl = "https://generativelanguage.googleapis.com";

struct ProviderConfig {
  ProviderKind kind = ProviderKind::kBuiltin;
  std::string url;        // empty: the kind's default URL
  std::string model;      // required unless builtin
  std::string apiKeyEnv;  // empty: OPENAI_API_KEY / GEMINI_API_KEY
  // Fail instead of falling back to builtin when the provider is unavailable.
  bool strict = false;
  // Whether makeProvider() refuses to go on without a key. Only with no url
  // (the public endpoints): with a url given (llama.cpp, vLLM, Ollama, a
  // proxy) the key is sent when its variable is set and left out otherwise.
  bool requireKey = true;
  std::chrono::milliseconds timeout{120'000};  // per attempt
  // Overall, for the calls a stage makes before a run starts (intent, plan:
  // both rounds and every retry), which a client's POST waits for.
  std::chrono::milliseconds deadline{90'000};
  RetryPolicy retry;
  CircuitBreaker::Options breaker;

  std::string effectiveUrl() const;
  std::string effectiveKeyEnv() const;  // empty for builtin
  // For events and logs: kind, url, model, the key's variable name, strict.
  boost::json::object describe() const;
};

// Per stage. The command line fills all three from --llm/--llm-url/
// --llm-model; a config file may set each stage apart.
struct LlmConfig {
  ProviderConfig intent, plan, agents;

  const ProviderConfig& forStage(Stage stage) const;
  ProviderConfig& forStage(Stage stage);
  static LlmConfig allStages(const ProviderConfig& config);

  // {"default": {...}, "intent": {...}, "plan": {...}, "agents": {...}} where
  // each object has "provider", "url", "model", "apiKeyEnv", "strict",
  // "timeoutMs", "deadlineMs", "maxAttempts"; a stage's fields override
  // "default"'s.
  // Errors name the field path ("llm.plan.provider: ...").
  static Result<LlmConfig> fromJson(const boost::json::value& value);
};

// USD per million tokens.
struct ModelPrice {
  double promptPerMillion = 0;
  double completionPerMillion = 0;
};

class PriceTable {
 public:
  // data/llm/models.json: {"models": {"<model>": {"provider", "promptPerMillion",
  // "completionPerMillion", ...}}}.
  static Result<PriceTable> load(const std::filesystem::path& file);
  static Result<PriceTable> fromJson(const boost::json::value& value);

  // Exact name first, then the longest listed name that prefixes `model`
  // ("gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini").
  std::optional<ModelPrice> find(std::string_view model) const;
  // nullopt when the model is not listed.
  std::optional<double> costUsd(std::string_view model, const Usage& usage) const;
  std::size_t size() const { return prices_.size(); }

 private:
  std::map<std::string, ModelPrice, std::less<>> prices_;
};

// Replaces every occurrence of `secret` in `text` with "[REDACTED]", and the
// value of any Authorization, x-goog-api-key or api-key header, any
// "Bearer <token>" and any key= / api_key= URL parameter. An empty secret
// redacts only those patterns. Secrets shorter than 4 characters are still
// replaced (never skipped).
std::string redact(std::string_view text, std::string_view secret);

// The fields for the event a stage publishes when it falls back to builtin
// (see shouldFallBack): {"stage", "provider", "model", "failure", "reason"},
// the reason being the error's message, redacted. Never the key.
boost::json::object fallbackFields(Stage stage, const ProviderConfig& config, const Error& error);
// The error when a stage may not fall back: "the <stage> stage's provider
// (<kind>) gave no usable <what>[ and strict mode (--llm-strict) forbids
// falling back to builtin]: <reason, redacted>", with the error's code.
Error noFallbackError(Stage stage, const ProviderConfig& config, const Error& error, std::string_view what);

// Reads an environment variable; tests pass their own.
using EnvReader = std::function<std::optional<std::string>(const std::string& name)>;
EnvReader processEnv();

// The provider for one stage, wrapped in a ResilientProvider with the
// config's retry policy and breaker. nullptr for builtin (the engine's own
// path). kInvalidArgument when the model is missing, or when a key is needed
// and the variable is unset or empty ("openai needs an API key: set
// OPENAI_API_KEY"). `transport` and `clock` must outlive the provider.
Result<std::unique_ptr<LlmProvider>> makeProvider(const ProviderConfig& config, HttpTransport& transport,
                                                  Clock& clock, const EnvReader& env = processEnv(),
                                                  LogSink log = {});

}  // namespace ymy::llm
