#include "https_session.hpp"

#include "tcp_acked.hpp"

#include <iotgw/plugins/common/trust_store.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace iotgw::plugins::https::detail {
namespace {

namespace ssl = net::ssl;
using tcp = net::ip::tcp;

ssl::context make_context(const std::string& ca_file) {
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    const std::string cas = common::trust_store_or_system(ca_file);
    error_code ec;
    ctx.load_verify_file(cas, ec);
    if (ec) throw Failure("cannot read the trusted CAs in " + cas + ": " + ec.message(), false);
    ctx.set_verify_mode(ssl::verify_peer);
    return ctx;
}

}  // namespace

std::string reason(const error_code& ec) {
    return ec == beast::error::timeout ? std::string("no answer in time") : ec.message();
}

Session::Session(const HttpsUrl& url, const std::string& ca_file, std::chrono::milliseconds io_timeout,
                 const std::atomic<bool>& cancelled)
    : ctx_(make_context(ca_file)),
      stream_(io_, ctx_),
      io_timeout_(io_timeout),
      cancelled_(cancelled),
      where_(url.authority()) {
    SSL* tls = stream_.native_handle();
    // The certificate must name the host: OpenSSL checks it during the handshake.
    if (url.host_is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls), url.host.c_str());
    } else {
        // SNI (S3 and AWS endpoints need it); SSL_set_tlsext_host_name is this call behind a
        // macro with a C cast.
        SSL_ctrl(tls, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(url.host.c_str()));
        SSL_set1_host(tls, url.host.c_str());
    }
    tcp::resolver resolver(io_);
    error_code ec;
    const auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) throw Failure("cannot resolve " + url.host + ": " + ec.message(), true);
    auto& lowest = beast::get_lowest_layer(stream_);
    ec = step([&](auto h) { lowest.async_connect(endpoints, std::move(h)); });
    if (ec) throw Failure("cannot connect to " + where_ + ": " + reason(ec), true);
    ec = step([&](auto h) { stream_.async_handshake(ssl::stream_base::client, std::move(h)); });
    if (ec) {
        const long verify = SSL_get_verify_result(tls);
        if (verify != X509_V_OK)
            throw Failure(
                "the server " + where_ + " is not trusted: " + X509_verify_cert_error_string(verify), false);
        throw Failure("the TLS handshake with " + where_ + " failed: " + reason(ec), true);
    }
}

bool Session::note_acknowledged() {
    const auto acknowledged = tcp_bytes_acked(beast::get_lowest_layer(stream_).socket().native_handle());
    if (!acknowledged) return false;
    if (*acknowledged > acknowledged_) {
        acknowledged_ = *acknowledged;
        acknowledged_at_ = std::chrono::steady_clock::now();
    }
    return true;
}

void Session::shutdown() {
    step_for(std::chrono::milliseconds(1000), [&](auto h) { stream_.async_shutdown(std::move(h)); });
}

}  // namespace iotgw::plugins::https::detail
