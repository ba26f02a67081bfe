#pragma once
// A small JSON Schema validator for model answers: the subset providers'
// structured-output modes accept (type, properties, required, items, enum,
// additionalProperties, minItems/maxItems, nullable). Unknown keywords are
// ignored, so any schema can be passed; only these are enforced.

#include <string>
#include <vector>

#include <boost/json/value.hpp>

namespace ymy::llm {

// Every problem found, each naming its path ("$.tasks[2].id: required field
// is missing"); empty when `value` matches. Stops after `maxErrors`.
std::vector<std::string> validateJson(const boost::json::value& value, const boost::json::value& schema,
                                      std::size_t maxErrors = 20);

}  // namespace ymy::llm
