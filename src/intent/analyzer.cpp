#include "intent/analyzer.hpp"

#include <algorithm>
#include <cstdio>

#include "intent/params.hpp"
#include "intent/requested_items.hpp"
#include "intent/text.hpp"

namespace ymy::intent {

namespace {

using Kind = Token::Kind;

std::string slug(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += '-';
    for (char c : w) {
      if (std::isalnum(static_cast<unsigned char>(c))) out += c;
    }
  }
  return out;
}

// Build target from the noun phrase: "build a ride sharing app" -> "ride-sharing-app".
// Nouns inside a component mention ("recommendation engine") do not count.
std::string buildTargetFromText(const std::vector<Token>& tokens, const std::vector<bool>& covered) {
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (!isSystemNoun(tokens[i].text) || covered[i]) continue;
    std::vector<std::string> words;
    std::size_t k = i;
    while (k > 0 && words.size() < 3) {
      const auto& t = tokens[k - 1];
      if (t.kind != Kind::kWord || isStopword(t.text) || isBuildVerb(t.text) ||
          isDeterminer(t.text) || t.precededByComma || covered[k - 1]) {
        break;
      }
      words.insert(words.begin(), t.text);
      --k;
    }
    if (words.empty()) continue;
    words.push_back(tokens[i].text == "app" || tokens[i].text == "application" ? "app" : "platform");
    return slug(words);
  }
  return "";
}

}  // namespace

Result<void> validateRequestText(std::string_view text) {
  if (text.size() > kMaxRequestBytes) {
    return fail(ErrorCode::kInvalidArgument, "request is " + std::to_string(text.size()) +
                                                 " bytes; the limit is " + std::to_string(kMaxRequestBytes));
  }
  if (auto bad = invalidUtf8Offset(text)) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[*bad]));
    return fail(ErrorCode::kInvalidArgument, "request is not valid UTF-8 (byte " + std::string(byte) +
                                                 " at offset " + std::to_string(*bad) + ")");
  }
  bool blank = std::all_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  });
  if (blank) return fail(ErrorCode::kInvalidArgument, "request is empty");
  return {};
}

double estimateComplexity(const IntentFrame& f, std::size_t canvasNodes) {
  const double n = static_cast<double>(f.components.size() + f.features.size());
  const bool quantitative = f.params.rps || f.params.users || f.params.latencyMs || f.params.connections;
  double c = 0;
  switch (f.intent) {
    case Intent::kBuildFromScratch:
      c = 0.7 + 0.05 * std::min(n, 6.0);
      break;
    case Intent::kAddComponent: c = 0.4; break;
    case Intent::kScaleComponent: c = 0.5; break;
    case Intent::kModifyComponent: c = 0.4; break;
    case Intent::kRemoveComponent: c = 0.3; break;
    case Intent::kOptimize: c = 0.45; break;
    case Intent::kAnalyze: c = 0.2; break;
  }
  if (f.intent != Intent::kBuildFromScratch) {
    if (quantitative) c += 0.1;
    c += 0.08 * std::min(std::max(n - 1, 0.0), 4.0);
    if (canvasNodes > 12) c += 0.05;
  }
  return std::clamp(c, 0.0, 1.0);
}

IntentAnalyzer::IntentAnalyzer(const Catalog& catalog, const IntentClassifier& classifier)
    : catalog_(catalog), classifier_(classifier), matcher_(catalog) {}

std::string IntentAnalyzer::componentOfNode(const CanvasNode& node) const {
  if (const auto* c = catalog_.findByNodeId(node.id)) return c->id;
  if (auto it = node.config.find("component"); it != node.config.end() && it->value().is_string()) {
    std::string id(it->value().get_string());
    if (catalog_.find(id)) return id;
  }
  if (auto id = matcher_.componentOf(node.label); !id.empty()) return id;
  if (auto id = matcher_.componentOf(node.id); !id.empty()) return id;
  if (auto id = matcher_.componentOf(node.type); !id.empty()) return id;
  return "";
}

const CanvasNode* IntentAnalyzer::nodeForComponent(const Canvas& canvas, std::string_view componentId) const {
  for (const auto& node : canvas.nodes) {
    if (componentOfNode(node) == componentId) return &node;
  }
  return nullptr;
}

namespace {

// A request that names a kind of system ("a chat app", "concert ticketing
// site with seat selection ...") on an empty design asks for that system to
// be built: there is nothing to add it to yet. The classifier can read such
// noun phrases as ADD, and stray numbers ("expire after 10 minutes",
// "second-hand") as SCALE. A load target ("the shop to 5000 rps") keeps
// SCALE; a change, removal, optimisation or question keeps its intent, since
// the person may describe a system they have not drawn ("make the e-commerce
// checkout faster").
bool buildsOnEmptyDesign(const IntentFrame& frame, const Canvas* canvas, bool namesADomain) {
  if (!namesADomain || (canvas && !canvas->nodes.empty())) return false;
  if (frame.intent == Intent::kAddComponent) return true;
  return frame.intent == Intent::kScaleComponent && !frame.params.rps && !frame.params.users &&
         !frame.params.connections;
}

}  // namespace

Result<IntentFrame> IntentAnalyzer::analyze(std::string_view text, const Canvas* canvas, Reading* reading) const {
  if (auto ok = validateRequestText(text); !ok) return tl::unexpected(ok.error());

  IntentFrame frame;
  auto prediction = classifier_.predict(text);
  frame.intent = prediction.intent;
  frame.confidence = prediction.probability;

  auto tokens = tokenize(text);
  frame.params = extractParams(tokens);

  // Canvas nodes named directly ("the orders-api", "Billing Worker") come first.
  const CanvasNode* namedNode = nullptr;
  std::size_t namedAt = tokens.size();
  if (canvas) {
    std::size_t bestLength = 0;
    for (const auto& node : canvas->nodes) {
      for (const auto* phrase : {&node.id, &node.label}) {
        auto stems = phraseStems(*phrase);
        if (stems.size() < 2 && stems.size() < bestLength + 1) continue;  // single words: only via the catalog
        for (std::size_t i = 0; i + stems.size() <= tokens.size(); ++i) {
          bool match = !stems.empty();
          for (std::size_t k = 0; match && k < stems.size(); ++k) match = tokens[i + k].stem == stems[k];
          if (match && stems.size() > bestLength) {
            namedNode = &node;
            namedAt = i;
            bestLength = stems.size();
          }
        }
      }
    }
  }

  // Components and domains in order of mention; "without chat" excludes chat;
  // list items the catalog does not know become features.
  const bool wantsFeatures = frame.intent == Intent::kBuildFromScratch || frame.intent == Intent::kAddComponent;
  auto items = findRequestedItems(tokens, matcher_, catalog_, frame.intent != Intent::kRemoveComponent, wantsFeatures);
  if (buildsOnEmptyDesign(frame, canvas, items.domain != nullptr)) {
    frame.intent = Intent::kBuildFromScratch;
    items = findRequestedItems(tokens, matcher_, catalog_, true, true);
  }
  const Domain* domain = items.domain;
  const auto& covered = items.covered;
  frame.excluded = items.excluded;
  frame.features = items.features;
  auto mentioned = items.components;
  if (namedNode) {
    if (auto id = componentOfNode(*namedNode); !id.empty()) mentioned.emplace_back(namedAt, id);
  }
  std::stable_sort(mentioned.begin(), mentioned.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [pos, id] : mentioned) {
    if (std::find(frame.components.begin(), frame.components.end(), id) == frame.components.end() &&
        std::find(frame.excluded.begin(), frame.excluded.end(), id) == frame.excluded.end()) {
      frame.components.push_back(id);
    }
  }

  // Target.
  if (frame.intent == Intent::kBuildFromScratch) {
    // A domain brings its usual services, unless the request enumerates some
    // of them itself ("an e-commerce platform with auth, catalog and cart"):
    // then the request's list is the list. Extras the domain does not have
    // ("a food delivery app with loyalty points") come on top of the defaults.
    if (domain) {
      bool enumeratesDomain = std::any_of(frame.components.begin(), frame.components.end(), [&](const auto& id) {
        return std::find(domain->components.begin(), domain->components.end(), id) != domain->components.end();
      });
      if (enumeratesDomain) {
        // "a blog platform with comments and newsletters": the listed parts
        // come on top of what the domain's own name names ("blog" is the
        // content service), which the list does not repeat.
        std::vector<std::string> named;
        for (const auto& m : items.mentions) {
          if (m.kind != Mention::Kind::kDomain || m.id != domain->id) continue;
          for (std::size_t k = m.position; k < m.position + m.length; ++k) {
            auto id = matcher_.componentOf(tokens[k].text);
            const bool inDomain = std::find(domain->components.begin(), domain->components.end(), id) !=
                                  domain->components.end();
            if (!id.empty() && inDomain &&
                std::find(frame.components.begin(), frame.components.end(), id) == frame.components.end() &&
                std::find(frame.excluded.begin(), frame.excluded.end(), id) == frame.excluded.end() &&
                std::find(named.begin(), named.end(), id) == named.end()) {
              named.push_back(id);
            }
          }
        }
        frame.components.insert(frame.components.begin(), named.begin(), named.end());
      } else {
        std::vector<std::string> merged;
        for (const auto& id : domain->components) {
          if (std::find(frame.excluded.begin(), frame.excluded.end(), id) == frame.excluded.end()) merged.push_back(id);
        }
        for (const auto& id : frame.components) {
          if (std::find(merged.begin(), merged.end(), id) == merged.end()) merged.push_back(id);
        }
        frame.components = std::move(merged);
      }
    }
    if (domain) {
      frame.target = domain->target;
    } else if (auto t = buildTargetFromText(tokens, covered); !t.empty()) {
      frame.target = t;
    } else {
      frame.target = "system";
    }
  } else if (namedNode && (frame.components.empty() || componentOfNode(*namedNode) == frame.components.front() ||
                           namedAt <= mentioned.front().first)) {
    frame.target = namedNode->id;
    frame.targetOnCanvas = true;
  } else if (!frame.components.empty()) {
    const auto* component = catalog_.find(frame.components.front());
    const CanvasNode* node = canvas ? nodeForComponent(*canvas, component->id) : nullptr;
    frame.target = node ? node->id : component->nodeId;
    frame.targetOnCanvas = node != nullptr;
  } else {
    frame.target = "system";
  }

  frame.complexity = estimateComplexity(frame, canvas ? canvas->nodes.size() : 0);

  // What the planner will produce (planner/static_templates and dynamic_planner
  // keep to these shapes; the planner tests check the build case exactly).
  std::size_t services = 0;
  for (const auto& id : frame.components) services += catalog_.find(id)->isService() ? 1 : 0;
  services += frame.features.size();
  switch (frame.intent) {
    case Intent::kBuildFromScratch: frame.estimatedTasks = static_cast<int>(services) + 4; break;
    case Intent::kAddComponent: frame.estimatedTasks = static_cast<int>(2 + 2 * std::max<std::size_t>(services, 1)); break;
    case Intent::kScaleComponent: frame.estimatedTasks = 6; break;
    case Intent::kModifyComponent: frame.estimatedTasks = 5; break;
    case Intent::kRemoveComponent: frame.estimatedTasks = 4; break;
    case Intent::kOptimize: frame.estimatedTasks = 4; break;
    case Intent::kAnalyze: frame.estimatedTasks = 2; break;
  }
  if (reading) {
    reading->tokens = std::move(tokens);
    reading->mentions = std::move(items.mentions);
  }
  return frame;
}

}  // namespace ymy::intent
