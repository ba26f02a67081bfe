#include "llm/plan_repair.hpp"

#include <boost/json.hpp>

namespace ymy::llm {

const char* repairStatusName(RepairOutcome::Status status) {
  switch (status) {
    case RepairOutcome::Status::kFirstTry: return "first_try";
    case RepairOutcome::Status::kRepaired: return "repaired";
    case RepairOutcome::Status::kFallback: return "fallback";
  }
  return "fallback";
}

std::string repairMessage(const std::vector<std::string>& problems) {
  std::string text = "Your previous answer cannot be used. It has these problems:\n";
  for (const auto& p : problems) text += "- " + p + "\n";
  text += "Answer again with the complete corrected JSON only, fixing every problem listed.";
  return text;
}

namespace {

struct Attempt {
  std::optional<ChatResult> usable;
  std::vector<std::string> problems;
  std::string answerText;
  std::optional<Error> error;
};

// The problems in one of kUnprocessable's messages: "<p>: <what>; <what>".
std::vector<std::string> problemsOf(const Error& e) {
  std::string m = e.message;
  const auto schema = m.find("does not match the schema: ");
  if (schema != std::string::npos) {
    std::vector<std::string> out;
    std::string rest = m.substr(schema + 27);
    for (std::size_t at = 0; at <= rest.size();) {
      const auto semi = rest.find("; ", at);
      out.push_back(rest.substr(at, semi == std::string::npos ? std::string::npos : semi - at));
      if (semi == std::string::npos) break;
      at = semi + 2;
    }
    return out;
  }
  const auto colon = m.find(": ");
  return {colon == std::string::npos ? m : m.substr(colon + 2)};
}

Attempt attempt(LlmProvider& provider, const ChatRequest& request, const AnswerValidator& validate, Usage& usage) {
  FailureDetail detail;
  ChatRequest copy = request;
  copy.failureDetail = &detail;
  auto r = provider.complete(copy);
  if (request.failureDetail) *request.failureDetail = detail;
  Attempt a;
  if (!r) {
    if (r.error().code == ErrorCode::kUnprocessable) {
      a.problems = problemsOf(r.error());
      a.answerText = detail.answerText;
      usage.promptTokens += detail.usage.promptTokens;  // a rejected answer is paid for too
      usage.completionTokens += detail.usage.completionTokens;
    } else {
      a.error = r.error();
    }
    return a;
  }
  usage.promptTokens += r->usage.promptTokens;
  usage.completionTokens += r->usage.completionTokens;
  a.answerText = r->text;
  if (!r->parsed) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r->text, ec);
    if (ec) {
      a.problems.push_back("the answer is not valid JSON (" + ec.message() + ")");
      return a;
    }
    r->parsed = std::move(v);
  }
  a.problems = validate(*r->parsed);
  if (a.problems.empty()) a.usable = std::move(*r);
  return a;
}

}  // namespace

RepairOutcome completeWithRepair(LlmProvider& provider, const ChatRequest& request, const AnswerValidator& validate) {
  RepairOutcome out;
  out.calls = 1;
  Attempt first = attempt(provider, request, validate, out.usage);
  if (first.error) {
    out.error = first.error;
    return out;
  }
  if (first.usable) {
    out.status = RepairOutcome::Status::kFirstTry;
    out.result = std::move(first.usable);
    return out;
  }
  out.firstProblems = first.problems;

  ChatRequest followUp = request;
  followUp.messages.push_back(ChatMessage{"assistant", first.answerText});
  followUp.messages.push_back(ChatMessage{"user", repairMessage(first.problems)});
  out.calls = 2;
  Attempt second = attempt(provider, followUp, validate, out.usage);
  if (second.error) {
    out.error = second.error;
    return out;
  }
  if (second.usable) {
    out.status = RepairOutcome::Status::kRepaired;
    out.result = std::move(second.usable);
    return out;
  }
  out.lastProblems = second.problems;
  return out;
}

Error fallbackError(const RepairOutcome& outcome, std::string_view provider, std::string_view what) {
  if (outcome.error) return *outcome.error;
  std::string why;
  for (const auto& p : outcome.lastProblems) why += (why.empty() ? "" : "; ") + p;
  return Error(ErrorCode::kUnprocessable,
               std::string(provider) + ": the " + std::string(what) + " is still invalid after one repair: " + why);
}

bool shouldFallBack(const RepairOutcome& outcome, bool strict) {
  return outcome.error ? shouldFallBack(*outcome.error, strict) : !strict;
}

}  // namespace ymy::llm
