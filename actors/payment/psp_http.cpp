// Synchronous PSP HTTP(S) client (see psp_http.hpp). The operations are Asio's asynchronous ones
// run on a private io_context, because beast::tcp_stream's deadline only applies to those.
#include "payment/psp_http.hpp"

#include <cctype>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

namespace mercato::payment {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct parsed_url {
  bool tls = false;
  std::string host, port, prefix;
};

// "http[s]://host[:port][/prefix]"; false for anything else.
bool parse_url(const std::string& url, parsed_url& out, std::string& error) {
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    out.port = "443";
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    out.port = "80";
    rest = url.substr(7);
  } else {
    error = "base_url must start with https:// or http://";
    return false;
  }
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) out.prefix = rest.substr(slash);
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  auto colon = authority.rfind(':');
  if (colon != std::string::npos) {
    out.port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
  }
  out.host = authority;
  if (out.host.empty() || out.port.empty()) {
    error = "base_url has no host";
    return false;
  }
  return true;
}

// Writes `req` and reads the answer on a connected (and, for TLS, handshaken) stream.
template <class Stream>
void exchange(Stream& stream, bhttp::request<bhttp::string_body>& req, beast::flat_buffer& buffer,
              bhttp::response<bhttp::string_body>& res, psp_response& out) {
  out.result = psp_response::stage::no_answer;  // from here on the PSP may have acted
  bhttp::async_write(stream, req, [&](beast::error_code we, size_t) {
    if (we) {
      out.error = "write failed: " + we.message();
      return;
    }
    bhttp::async_read(stream, buffer, res, [&](beast::error_code re, size_t) {
      if (re) {
        out.error = re == beast::error::timeout ? "no answer before the timeout" : "read failed: " + re.message();
        return;
      }
      out.result = psp_response::stage::answered;
      out.status = static_cast<int>(res.result_int());
      out.body = std::move(res.body());
    });
  });
}

// TLS 1.2+, peer chain verified (system store or `ca_file`), the certificate's name checked
// against `host`.
bool make_tls_context(net::ssl::context& tls, const std::string& ca_file, std::string& error) {
  beast::error_code ec;
  tls.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                  net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
  if (ca_file.empty())
    tls.set_default_verify_paths(ec);
  else
    tls.load_verify_file(ca_file, ec);
  if (ec) {
    error = fmt::format("cannot load trusted CAs{}: {}", ca_file.empty() ? "" : " from " + ca_file, ec.message());
    return false;
  }
  tls.set_verify_mode(net::ssl::verify_peer);
  return true;
}

}  // namespace

std::string form_encode(const form_fields& fields) {
  std::string out;
  // Brackets stay readable in keys (metadata[transaction_id]); values are fully encoded.
  auto encode = [&out](const std::string& s, bool key) {
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (key && (c == '[' || c == ']')))
        out += static_cast<char>(c);
      else
        out += fmt::format("%{:02X}", c);
    }
  };
  for (const auto& [key, value] : fields) {
    if (!out.empty()) out += '&';
    encode(key, true);
    out += '=';
    encode(value, false);
  }
  return out;
}

psp_response psp_call(const psp_request& request) {
  psp_response out;
  parsed_url url;
  if (!parse_url(request.base_url, url, out.error)) return out;

  const bool get = request.method == "GET";
  std::string target = url.prefix + request.target;
  if (get && !request.form.empty()) target += "?" + form_encode(request.form);  // GET: the query string
  bhttp::request<bhttp::string_body> req{get ? bhttp::verb::get : bhttp::verb::post, target, 11};
  req.set(bhttp::field::host, url.host);
  req.set(bhttp::field::user_agent, "mercato-payment");
  req.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  if (!get) {
    req.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    req.body() = form_encode(request.form);
  }
  req.prepare_payload();

  net::io_context ioc;
  tcp::resolver resolver{ioc};
  beast::error_code ec;
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) {
    out.error = fmt::format("cannot resolve {}: {}", url.host, ec.message());
    return out;
  }
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  auto connect_failed = [&](const beast::error_code& e) {
    out.error = fmt::format("cannot connect to {}:{}: {}", url.host, url.port, e.message());
  };

  if (!url.tls) {
    beast::tcp_stream stream{ioc};
    stream.expires_after(request.timeout);  // one deadline for the whole exchange
    stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
      if (e) return connect_failed(e);  // not_sent
      exchange(stream, req, buffer, res, out);
    });
    ioc.run();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return out;
  }

  net::ssl::context tls{net::ssl::context::tls_client};
  if (!make_tls_context(tls, request.ca_file, out.error)) return out;
  beast::ssl_stream<beast::tcp_stream> stream{ioc, tls};
  // SNI, so that a host serving several names presents this one's certificate.
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    out.error = "cannot set the TLS server name";
    return out;
  }
  stream.set_verify_callback(net::ssl::host_name_verification(url.host));
  beast::get_lowest_layer(stream).expires_after(request.timeout);
  beast::get_lowest_layer(stream).async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    if (e) return connect_failed(e);
    stream.async_handshake(net::ssl::stream_base::client, [&](beast::error_code he) {
      if (he) {  // no request byte was sent: still not_sent
        out.error = fmt::format("TLS handshake with {} failed: {}", url.host, he.message());
        return;
      }
      exchange(stream, req, buffer, res, out);
    });
  });
  ioc.run();
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  return out;
}

}  // namespace mercato::payment
