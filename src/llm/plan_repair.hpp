#pragma once
// One repair round for structured answers, whatever the model: ask, validate
// with the caller's function (a plan's cycle, unknown dependencies, ...), and
// when the answer is not usable ask once more with the exact problems named;
// then report whether the caller has an answer or must fall back to builtin.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "llm/provider.hpp"

namespace ymy::llm {

// Problems with a parsed answer, each naming where ("tasks[3].dependencies:
// a cycle t2 -> t3 -> t2"); empty when the answer is usable.
using AnswerValidator = std::function<std::vector<std::string>(const boost::json::value&)>;

struct RepairOutcome {
  enum class Status {
    kFirstTry,  // the first answer was usable
    kRepaired,  // the second was
    kFallback,  // neither (or the provider failed): use builtin; `error` says why
  };
  Status status = Status::kFallback;
  std::optional<ChatResult> result;       // the usable answer (parsed set), unless kFallback
  std::vector<std::string> firstProblems; // what was wrong with the first answer
  std::vector<std::string> lastProblems;  // what was still wrong (kFallback after a repair)
  std::optional<Error> error;             // a provider error that ended it (kFallback)
  int calls = 0;                          // complete() calls made (1 or 2)
  Usage usage;                            // summed over the calls
};
const char* repairStatusName(RepairOutcome::Status status);

// `request` should have a schema (the answer is parsed either way). An answer
// that is not JSON or misses the schema counts as problems to repair, like
// the validator's. The follow-up keeps the conversation: the request's
// messages, the model's answer as "assistant", then a "user" message naming
// each problem. Any other provider error ends it at once (kFallback with the
// error; a cancellation too, so check the token before falling back).
RepairOutcome completeWithRepair(LlmProvider& provider, const ChatRequest& request,
                                 const AnswerValidator& validate);

// Why a kFallback outcome gave no answer: the provider's error that ended it,
// else a kUnprocessable error "<provider>: the <what> is still invalid after
// one repair: <problems>".
Error fallbackError(const RepairOutcome& outcome, std::string_view provider, std::string_view what);

// Whether a stage falls back to builtin after a kFallback outcome: after a
// provider error as shouldFallBack() says; after a bad answer twice (not the
// provider's fault) unless strict.
bool shouldFallBack(const RepairOutcome& outcome, bool strict);

// The follow-up message's text for these problems (for tests and logs).
std::string repairMessage(const std::vector<std::string>& problems);

}  // namespace ymy::llm
