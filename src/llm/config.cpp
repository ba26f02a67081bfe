#include "llm/config.hpp"

#include <cstdlib>
#include <set>

#include <boost/json.hpp>

#include "llm/gemini.hpp"
#include "llm/openai.hpp"
#include "model/json_io.hpp"

namespace ymy::llm {

namespace js = boost::json;

const char* providerKindName(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::kBuiltin: return "builtin";
    case ProviderKind::kOpenAi: return "openai";
    case ProviderKind::kGemini: return "gemini";
  }
  return "builtin";
}

Result<ProviderKind> parseProviderKind(std::string_view text) {
  if (text == "builtin") return ProviderKind::kBuiltin;
  if (text == "openai") return ProviderKind::kOpenAi;
  if (text == "gemini") return ProviderKind::kGemini;
  return fail(ErrorCode::kInvalidArgument,
              "unknown LLM provider \"" + std::string(text) + "\" (expected builtin, openai or gemini)");
}

const char* stageName(Stage stage) {
  switch (stage) {
    case Stage::kIntent: return "intent";
    case Stage::kPlan: return "plan";
    case Stage::kAgents: return "agents";
  }
  return "intent";
}

std::string ProviderConfig::effectiveUrl() const {
  if (!url.empty()) return url;
  switch (kind) {
    case ProviderKind::kOpenAi: return std::string(kOpenAiDefaultUrl);
    case ProviderKind::kGemini: return std::string(kGeminiDefaultUrl);
    case ProviderKind::kBuiltin: return {};
  }
  return {};
}

std::string ProviderConfig::effectiveKeyEnv() const {
  if (!apiKeyEnv.empty()) return apiKeyEnv;
  switch (kind) {
    case ProviderKind::kOpenAi: return "OPENAI_API_KEY";
    case ProviderKind::kGemini: return "GEMINI_API_KEY";
    case ProviderKind::kBuiltin: return {};
  }
  return {};
}

js::object ProviderConfig::describe() const {
  js::object o{{"provider", providerKindName(kind)}};
  if (kind == ProviderKind::kBuiltin) return o;
  o["url"] = redact(effectiveUrl(), "");
  o["model"] = model;
  o["apiKeyEnv"] = effectiveKeyEnv();
  o["strict"] = strict;
  return o;
}

const ProviderConfig& LlmConfig::forStage(Stage stage) const {
  switch (stage) {
    case Stage::kIntent: return intent;
    case Stage::kPlan: return plan;
    case Stage::kAgents: return agents;
  }
  return intent;
}

ProviderConfig& LlmConfig::forStage(Stage stage) {
  return const_cast<ProviderConfig&>(static_cast<const LlmConfig&>(*this).forStage(stage));
}

LlmConfig LlmConfig::allStages(const ProviderConfig& config) { return LlmConfig{config, config, config}; }

namespace {

void readStage(const json::Reader& r, ProviderConfig& c) {
  if (auto p = r.find("provider")) {
    auto kind = parseProviderKind(p->str());
    if (!kind) p->fail(kind.error().message);
    c.kind = *kind;
  }
  if (auto u = r.find("url")) c.url = u->str();
  if (auto m = r.find("model")) c.model = m->str();
  if (auto k = r.find("apiKeyEnv")) c.apiKeyEnv = k->str();
  if (auto s = r.find("strict")) c.strict = s->boolean();
  if (auto t = r.find("timeoutMs")) {
    if (t->integer() <= 0) t->fail("must be positive");
    c.timeout = std::chrono::milliseconds(t->integer());
  }
  if (auto d = r.find("deadlineMs")) {
    if (d->integer() <= 0) d->fail("must be positive");
    c.deadline = std::chrono::milliseconds(d->integer());
  }
  if (auto a = r.find("maxAttempts")) {
    if (a->integer() < 1 || a->integer() > 10) a->fail("must be between 1 and 10");
    c.retry.maxAttempts = static_cast<int>(a->integer());
  }
  for (const auto& [key, value] : r.object()) {
    static const std::set<std::string_view> kKnown{"provider", "url", "model", "apiKeyEnv", "strict", "timeoutMs",
                                                   "deadlineMs", "maxAttempts"};
    if (!kKnown.count(key)) r.fail("unknown field \"" + std::string(key) + "\"");
    (void)value;
  }
}

}  // namespace

Result<LlmConfig> LlmConfig::fromJson(const js::value& value) {
  return json::guarded([&] {
    json::Reader root(value, "llm");
    (void)root.object();
    ProviderConfig base;
    if (auto d = root.find("default")) readStage(*d, base);
    LlmConfig config = allStages(base);
    for (Stage stage : {Stage::kIntent, Stage::kPlan, Stage::kAgents}) {
      if (auto s = root.find(stageName(stage))) readStage(*s, config.forStage(stage));
    }
    for (const auto& [key, v] : root.object()) {
      if (key != "default" && key != "intent" && key != "plan" && key != "agents")
        root.fail("unknown field \"" + std::string(key) + "\" (expected default, intent, plan, agents)");
      (void)v;
    }
    return config;
  });
}

Result<PriceTable> PriceTable::load(const std::filesystem::path& file) {
  auto v = json::parseFile(file, "price table " + file.string());
  if (!v) return tl::unexpected(v.error());
  return fromJson(*v);
}

Result<PriceTable> PriceTable::fromJson(const js::value& value) {
  return json::guarded([&] {
    PriceTable table;
    json::Reader root(value, "models.json");
    for (const auto& [name, entry] : root.at("models").object()) {
      json::Reader r(entry, "models.json.models." + std::string(name));
      ModelPrice price{r.at("promptPerMillion").number(), r.at("completionPerMillion").number()};
      if (price.promptPerMillion < 0) r.at("promptPerMillion").fail("must not be negative");
      if (price.completionPerMillion < 0) r.at("completionPerMillion").fail("must not be negative");
      table.prices_.emplace(std::string(name), price);
    }
    return table;
  });
}

std::optional<ModelPrice> PriceTable::find(std::string_view model) const {
  if (auto it = prices_.find(model); it != prices_.end()) return it->second;
  std::optional<ModelPrice> best;
  std::size_t bestLength = 0;
  for (const auto& [name, price] : prices_) {
    if (model.size() > name.size() && model.compare(0, name.size(), name) == 0 && model[name.size()] == '-' &&
        name.size() > bestLength) {
      best = price;
      bestLength = name.size();
    }
  }
  return best;
}

std::optional<double> PriceTable::costUsd(std::string_view model, const Usage& usage) const {
  auto price = find(model);
  if (!price) return std::nullopt;
  return (static_cast<double>(usage.promptTokens) * price->promptPerMillion +
          static_cast<double>(usage.completionTokens) * price->completionPerMillion) /
         1e6;
}

namespace {

constexpr std::string_view kRedacted = "[REDACTED]";

bool iequalsAt(std::string_view text, std::size_t at, std::string_view word) {
  if (at + word.size() > text.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != std::tolower(static_cast<unsigned char>(word[i])))
      return false;
  }
  return true;
}

bool tokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~' || c == '+' ||
         c == '/' || c == '=' || c == '%';
}

// Replaces the token after each case-insensitive `marker`, skipping the
// separators in `skip`; with `assignment`, only when those include ':' or '='
// ("api-key: x", not "the api-key header"); with `scheme`, an auth scheme word
// ("Bearer x") is skipped too.
std::string redactAfter(std::string text, std::string_view marker, std::string_view skip, bool assignment = false,
                        bool scheme = false) {
  std::size_t from = 0;
  while (from < text.size()) {
    std::size_t at = std::string::npos;
    for (std::size_t i = from; i + marker.size() <= text.size(); ++i) {
      if (iequalsAt(text, i, marker)) {
        at = i;
        break;
      }
    }
    if (at == std::string::npos) break;
    std::size_t start = at + marker.size();
    bool assigned = false;
    while (start < text.size() && skip.find(text[start]) != std::string_view::npos) {
      assigned = assigned || text[start] == ':' || text[start] == '=';
      ++start;
    }
    std::size_t end = start;
    while (end < text.size() && tokenChar(text[end])) ++end;
    if (scheme && end < text.size() && text[end] == ' ' && end + 1 < text.size() &&
        !std::isspace(static_cast<unsigned char>(text[end + 1]))) {
      start = end + 1;  // "Authorization: Bearer <token>": the token, not the scheme
      for (end = start; end < text.size() && tokenChar(text[end]);) ++end;
    }
    if (end > start && (assigned || !assignment) && text.compare(start, end - start, kRedacted) != 0) {
      text.replace(start, end - start, kRedacted);
      end = start + kRedacted.size();
    }
    from = std::max(end, at + marker.size());
  }
  return text;
}

}  // namespace

std::string redact(std::string_view input, std::string_view secret) {
  std::string text(input);
  if (!secret.empty()) {
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + kRedacted.size()))
      text.replace(at, secret.size(), kRedacted);
  }
  text = redactAfter(std::move(text), "bearer ", " ");
  text = redactAfter(std::move(text), "x-goog-api-key", ": =\"'", true);
  text = redactAfter(std::move(text), "api-key", ": =\"'", true);
  text = redactAfter(std::move(text), "api_key", ": =\"'", true);
  text = redactAfter(std::move(text), "authorization:", " ", false, true);
  text = redactAfter(std::move(text), "?key=", "");
  text = redactAfter(std::move(text), "&key=", "");
  return text;
}

js::object fallbackFields(Stage stage, const ProviderConfig& config, const Error& error) {
  return js::object{{"stage", stageName(stage)},
                    {"provider", providerKindName(config.kind)},
                    {"model", config.model},
                    {"failure", failureName(classify(error))},
                    {"reason", redact(error.message, "")}};
}

Error noFallbackError(Stage stage, const ProviderConfig& config, const Error& error, std::string_view what) {
  return Error(error.code, std::string("the ") + stageName(stage) + " stage's provider (" +
                               providerKindName(config.kind) + ") gave no usable " + std::string(what) +
                               (config.strict ? " and strict mode (--llm-strict) forbids falling back to builtin" : "") +
                               ": " + redact(error.message, ""));
}

EnvReader processEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Result<std::unique_ptr<LlmProvider>> makeProvider(const ProviderConfig& config, HttpTransport& transport,
                                                  Clock& clock, const EnvReader& env, LogSink log) {
  if (config.kind == ProviderKind::kBuiltin) return std::unique_ptr<LlmProvider>();
  const std::string name = providerKindName(config.kind);
  if (config.model.empty())
    return fail(ErrorCode::kInvalidArgument, name + " needs a model (--llm-model)");
  const std::string keyEnv = config.effectiveKeyEnv();
  std::string key;
  if (auto v = env(keyEnv)) key = *v;
  const bool localServer = !config.url.empty();
  if (key.empty() && config.requireKey && !localServer)
    return fail(ErrorCode::kInvalidArgument, name + " needs an API key: set " + keyEnv +
                                                 (keyEnv.empty() ? "" : " (or name another variable in apiKeyEnv)"));

  std::unique_ptr<LlmProvider> inner;
  if (config.kind == ProviderKind::kOpenAi) {
    inner = std::make_unique<OpenAiProvider>(OpenAiOptions{config.effectiveUrl(), key, config.timeout, name},
                                             transport, clock);
  } else {
    inner = std::make_unique<GeminiProvider>(GeminiOptions{config.effectiveUrl(), key, config.timeout, name},
                                             transport, clock);
  }
  ResilientProvider::Options options;
  options.retry = config.retry;
  options.breaker = config.breaker;
  options.log = std::move(log);
  options.secret = key;
  return std::unique_ptr<LlmProvider>(std::make_unique<ResilientProvider>(std::move(inner), std::move(options), clock));
}

}  // namespace ymy::llm
