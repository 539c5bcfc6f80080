#include "app/client_commands.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

namespace herald::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;

namespace {

struct Endpoint {
  std::string host;
  std::string port;
  std::string base_path;
};

Endpoint ParseUrl(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "http") {
    throw std::invalid_argument("--url must be http://HOST[:PORT], got '" + url + "'");
  }
  std::string path(parsed->encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  return {std::string(parsed->host()), parsed->has_port() ? std::string(parsed->port()) : "80",
          path};
}

void AddClientOptions(CLI::App& command, ClientConfig& c) {
  command.add_option("--url", c.url, "The hub's base URL")
      ->capture_default_str()
      ->envname("HERALD_URL");
  command.add_option("--token", c.token, "Bearer token")->envname("HERALD_TOKEN")->required();
}

tcp::socket Connect(asio::io_context& io, const Endpoint& endpoint) {
  tcp::resolver resolver(io);
  tcp::socket socket(io);
  asio::connect(socket, resolver.resolve(endpoint.host, endpoint.port));
  return socket;
}

beast_http::response<beast_http::string_body> Post(const ClientConfig& client,
                                                   const std::string& path,
                                                   const std::string& content_type,
                                                   std::string body) {
  const Endpoint endpoint = ParseUrl(client.url);
  asio::io_context io;
  tcp::socket socket = Connect(io, endpoint);
  beast_http::request<beast_http::string_body> request{beast_http::verb::post,
                                                       endpoint.base_path + path, 11};
  request.set(beast_http::field::host, endpoint.host);
  request.set(beast_http::field::authorization, "Bearer " + client.token);
  request.set(beast_http::field::content_type, content_type);
  request.body() = std::move(body);
  request.prepare_payload();
  beast_http::write(socket, request);
  beast::flat_buffer buffer;
  beast_http::response<beast_http::string_body> response;
  beast_http::read(socket, buffer, response);
  return response;
}

}  // namespace

void AddTailOptions(CLI::App& command, TailConfig& c) {
  AddClientOptions(command, c.client);
  command.add_option("--stream", c.stream, "agui, a2a or contexts")
      ->capture_default_str()
      ->check(CLI::IsMember({"agui", "a2a", "contexts"}));
  command.add_option("--last-event-id", c.last_event_id, "Resume after this id");
  command.add_option("--context-id", c.context_id, "Only this context's events");
  command.add_flag("--raw", c.raw, "Print the raw SSE frames");
  command.add_flag("!--no-follow", c.follow, "Exit when the stream ends instead of resuming");
}

void AddPublishOptions(CLI::App& command, PublishConfig& c) {
  AddClientOptions(command, c.client);
  command.add_option("--protocol", c.protocol, "agui or a2a")
      ->capture_default_str()
      ->check(CLI::IsMember({"agui", "a2a"}));
  command.add_option("--user", c.user, "The user the events are for")->required();
  auto* event = command.add_option("--event", c.event, "One event as a JSON object");
  auto* file = command.add_option("--file", c.file, "Events, one JSON object per line (- = stdin)");
  event->excludes(file);
}

namespace {

using StreamParser = beast_http::response_parser<beast_http::buffer_body>;

// Sends the stream's GET (resuming after `last_id` when set) and reads the response's head.
void OpenStream(tcp::socket& socket, beast::flat_buffer& buffer, StreamParser& parser,
                const Endpoint& endpoint, const TailConfig& c, const std::string& last_id) {
  std::string target = endpoint.base_path + "/api/v1/stream/" + c.stream;
  if (!c.context_id.empty()) target += "?context_id=" + c.context_id;
  beast_http::request<beast_http::empty_body> request{beast_http::verb::get, target, 11};
  request.set(beast_http::field::host, endpoint.host);
  request.set(beast_http::field::authorization, "Bearer " + c.client.token);
  request.set(beast_http::field::accept, "text/event-stream");
  if (!last_id.empty()) request.set("Last-Event-ID", last_id);
  beast_http::write(socket, request);
  parser.body_limit(boost::none);
  beast_http::read_header(socket, buffer, parser);
  if (parser.get().result() != beast_http::status::ok) {
    throw std::runtime_error("the hub answered " + std::to_string(parser.get().result_int()));
  }
}

// Every id moves the cursor (the `connected` event's too); only events without an `event:` line
// are printed, as EventSource.onmessage would see them.
void PrintFrame(const std::string& frame, const TailConfig& c, std::string& last_id) {
  std::istringstream lines(frame);
  std::string line;
  std::string name;
  std::string data;
  while (std::getline(lines, line)) {
    if (line.rfind("id: ", 0) == 0) last_id = line.substr(4);
    if (line.rfind("event: ", 0) == 0) name = line.substr(7);
    if (line.rfind("data: ", 0) == 0) data = line.substr(6);
  }
  if (c.raw) {
    std::cout << frame;
  } else if (name.empty() && !data.empty()) {
    std::cout << data << "\n";
  } else if (name == "reset") {
    std::cerr << "herald tail: stream reset: " << data << "\n";
  }
  std::cout.flush();
}

// Reads the body until the stream ends, printing each complete frame.
void ReadFrames(tcp::socket& socket, beast::flat_buffer& buffer, StreamParser& parser,
                const TailConfig& c, std::string& last_id) {
  std::string pending;
  char chunk[8192];
  boost::system::error_code ec;
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof(chunk);
    beast_http::read_some(socket, buffer, parser, ec);
    if (ec == beast_http::error::need_buffer) ec = {};
    if (ec) break;
    pending.append(chunk, sizeof(chunk) - parser.get().body().size);
    for (auto end = pending.find("\n\n"); end != std::string::npos; end = pending.find("\n\n")) {
      const std::string frame = pending.substr(0, end + 2);
      pending.erase(0, end + 2);
      PrintFrame(frame, c, last_id);
    }
  }
}

}  // namespace

int Tail(const TailConfig& c) {
  const Endpoint endpoint = ParseUrl(c.client.url);
  std::string last_id = c.last_event_id;
  for (;;) {
    asio::io_context io;
    tcp::socket socket = Connect(io, endpoint);
    beast::flat_buffer buffer;
    StreamParser parser;
    OpenStream(socket, buffer, parser, endpoint, c, last_id);
    ReadFrames(socket, buffer, parser, c, last_id);
    if (!c.follow) return 0;
    std::cerr << "herald tail: stream ended; resuming after " << last_id << "\n";
  }
}

int Publish(const PublishConfig& c) {
  beast_http::response<beast_http::string_body> response;
  if (!c.event.empty()) {
    boost::json::value event = boost::json::parse(c.event);
    if (!event.is_object()) throw std::invalid_argument("--event must be a JSON object");
    event.get_object()["user_id"] = c.user;
    response = Post(c.client, "/api/v1/webhook/" + c.protocol, "application/json",
                    boost::json::serialize(event));
  } else {
    std::ifstream file_stream;
    std::istream* in = &std::cin;
    if (c.file != "-" && !c.file.empty()) {
      file_stream.open(c.file);
      if (!file_stream) throw std::invalid_argument("cannot read " + c.file);
      in = &file_stream;
    }
    std::string body;
    std::string line;
    while (std::getline(*in, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      boost::json::object item;
      item["user_id"] = c.user;
      item["protocol"] = c.protocol;
      item["event"] = boost::json::parse(line);
      body += boost::json::serialize(item) + "\n";
    }
    response = Post(c.client, "/api/v1/events", "application/x-ndjson", std::move(body));
  }
  std::cout << response.body() << "\n";
  return response.result() == beast_http::status::ok ? 0 : 1;
}

}  // namespace herald::app
