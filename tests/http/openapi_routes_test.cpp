// docs/openapi.json describes exactly the routes the router knows: every (method, path template)
// of the router's table is an operation of the document, the document has no other, and each
// documented operation is routed (any other method on a documented path is refused with 405).
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <variant>

#include "http/router.h"

namespace herald::http {
namespace {

using boost::beast::http::verb;
using Operation = std::pair<std::string, std::string>;  // lower-case method, path template

// The methods an OpenAPI 3.1 path item may hold as operations.
const std::set<std::string> kOperationKeys = {"get",  "put",   "post",  "delete",
                                              "head", "patch", "trace", "options"};

boost::json::object Document() {
  std::ifstream file(HERALD_OPENAPI_JSON, std::ios::binary);
  EXPECT_TRUE(file) << "cannot read " << HERALD_OPENAPI_JSON;
  std::stringstream text;
  text << file.rdbuf();
  boost::system::error_code ec;
  boost::json::value document = boost::json::parse(text.str(), ec);
  EXPECT_FALSE(ec) << HERALD_OPENAPI_JSON << ": " << ec.message();
  return document.is_object() ? document.get_object() : boost::json::object();
}

std::set<Operation> DocumentedOperations(const boost::json::object& document) {
  std::set<Operation> operations;
  const auto* paths = document.if_contains("paths");
  if (paths == nullptr || !paths->is_object()) return operations;
  for (const auto& [path, item] : paths->get_object()) {
    if (!item.is_object()) continue;
    for (const auto& [key, operation] : item.get_object()) {
      if (kOperationKeys.contains(std::string(key))) {
        operations.emplace(std::string(key), std::string(path));
      }
    }
  }
  return operations;
}

std::set<Operation> RouterOperations() {
  std::set<Operation> operations;
  for (const RouteSpec& spec : RouteTable()) {
    for (verb method : spec.methods) {
      if (method == verb::unknown) continue;
      std::string name(boost::beast::http::to_string(method));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      operations.emplace(std::move(name), std::string(spec.path));
    }
  }
  return operations;
}

std::string List(const std::set<Operation>& operations) {
  std::string out;
  for (const auto& [method, path] : operations) out += "  " + method + " " + path + "\n";
  return out.empty() ? "  (none)\n" : out;
}

// A request target for a path template: {id} becomes a plain id.
std::string Target(std::string path) {
  const auto id = path.find("{id}");
  if (id != std::string::npos) path.replace(id, 4, "some-id");
  return path;
}

verb VerbOf(const std::string& method) {
  std::string upper = method;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return boost::beast::http::string_to_verb(upper);
}

TEST(OpenApiRoutesTest, TheDocumentDescribesExactlyTheRoutersRoutes) {
  const std::set<Operation> documented = DocumentedOperations(Document());
  const std::set<Operation> routed = RouterOperations();
  ASSERT_FALSE(routed.empty());
  std::set<Operation> undocumented, unknown;
  for (const Operation& op : routed) {
    if (!documented.contains(op)) undocumented.insert(op);
  }
  for (const Operation& op : documented) {
    if (!routed.contains(op)) unknown.insert(op);
  }
  EXPECT_TRUE(undocumented.empty()) << "routes missing from docs/openapi.json:\n"
                                    << List(undocumented);
  EXPECT_TRUE(unknown.empty()) << "operations in docs/openapi.json the router does not know:\n"
                               << List(unknown);
}

TEST(OpenApiRoutesTest, EveryDocumentedOperationIsRoutedAndNoOtherMethodIs) {
  const std::set<Operation> documented = DocumentedOperations(Document());
  ASSERT_FALSE(documented.empty());
  std::set<std::string> paths;
  for (const auto& [method, path] : documented) paths.insert(path);
  for (const std::string& path : paths) {
    for (const std::string& method : kOperationKeys) {
      SCOPED_TRACE(method + " " + path);
      const RouteResult result = Route(VerbOf(method), Target(path));
      if (documented.contains({method, path})) {
        EXPECT_TRUE(std::holds_alternative<RouteMatch>(result));
      } else {
        EXPECT_TRUE(std::holds_alternative<MethodNotAllowed>(result));
      }
    }
  }
}

// info.version is written by hand: it must be the version `herald --version` and the Debian
// package carry (CMake's project version).
TEST(OpenApiRoutesTest, TheDocumentsVersionIsTheProjects) {
  const boost::json::object document = Document();
  EXPECT_EQ(document.at("info").as_object().at("version").as_string(), HERALD_VERSION);
}

TEST(OpenApiRoutesTest, PathParametersAreDeclaredForEveryTemplatedPath) {
  const boost::json::object document = Document();
  const auto& paths = document.at("paths").as_object();
  for (const auto& [path, item] : paths) {
    if (std::string_view(path).find("{id}") == std::string_view::npos) continue;
    for (const auto& [key, operation] : item.as_object()) {
      if (!kOperationKeys.contains(std::string(key))) continue;
      SCOPED_TRACE(std::string(key) + " " + std::string(path));
      bool declared = false;
      const auto* parameters = operation.as_object().if_contains("parameters");
      ASSERT_NE(parameters, nullptr);
      for (const auto& parameter : parameters->as_array()) {
        const auto* target = parameter.as_object().if_contains("$ref");
        if (target == nullptr) continue;
        const std::string_view name = target->as_string();
        const auto& declared_parameter =
            document.at("components").at("parameters").at(name.substr(name.rfind('/') + 1));
        declared = declared || (declared_parameter.at("in").as_string() == "path" &&
                                declared_parameter.at("name").as_string() == "id");
      }
      EXPECT_TRUE(declared);
    }
  }
}

}  // namespace
}  // namespace herald::http
