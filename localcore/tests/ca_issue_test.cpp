// The local CA: chains, lifetimes, key protection and CSR signing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <random>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "atomic_file.hpp"
#include "ca.hpp"

namespace {

namespace fs = std::filesystem;
using localcore::Ca;
using localcore::Error;
using ::testing::HasSubstr;

struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using CertPtr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

CertPtr parse_cert(const std::string& pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                  &BIO_free);
    return CertPtr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// X509_verify_cert against ca.pem only, with the client-certificate purpose.
bool chains_to(const std::string& ca_pem, const std::string& leaf_pem, int purpose) {
    auto ca = parse_cert(ca_pem);
    auto leaf = parse_cert(leaf_pem);
    if (!ca || !leaf) return false;
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), &X509_STORE_free);
    X509_STORE_add_cert(store.get(), ca.get());
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                        &X509_STORE_CTX_free);
    X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr);
    X509_STORE_CTX_set_purpose(ctx.get(), purpose);
    return X509_verify_cert(ctx.get()) == 1;
}

long long validity_seconds(const std::string& pem) {
    auto cert = parse_cert(pem);
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get()));
    return days * 86400LL + secs;
}

std::string make_csr(EVP_PKEY* subject_key, EVP_PKEY* signing_key, const char* cn) {
    std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(X509_REQ_new(), &X509_REQ_free);
    X509_REQ_set_pubkey(req.get(), subject_key);
    X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req.get()), NID_commonName, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_REQ_sign(req.get(), signing_key, EVP_sha256());
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_X509_REQ(bio.get(), req.get());
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string subject_cn(const std::string& pem) {
    auto cert = parse_cert(pem);
    char buf[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, buf, sizeof buf);
    return buf;
}

class CaIssue : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::random_device rd;
        root_ = new fs::path(fs::temp_directory_path() / ("localcore-ca-test-" + std::to_string(rd())));
        Ca::init(*root_ / "ca");
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        fs::remove_all(*root_, ec);
        delete root_;
    }
    static fs::path ca_dir() { return *root_ / "ca"; }
    static fs::path* root_;
};
fs::path* CaIssue::root_ = nullptr;

TEST_F(CaIssue, InitCreatesPrivateKeysAndAServerCert) {
    const auto mode = [](const fs::path& p) { return fs::status(p).permissions() & fs::perms::all; };
    const auto owner_rw = fs::perms::owner_read | fs::perms::owner_write;
    EXPECT_EQ(mode(ca_dir() / "ca.key"), owner_rw);
    EXPECT_EQ(mode(ca_dir() / "server.key"), owner_rw);
    EXPECT_EQ(mode(ca_dir()), fs::perms::owner_all);
    const auto ca = Ca::open(ca_dir());
    const auto ca_pem = localcore::read_file(ca.ca_cert_path());
    const auto server_pem = localcore::read_file(ca.server_cert_path());
    EXPECT_EQ(subject_cn(ca_pem), "localcore CA");
    EXPECT_EQ(subject_cn(server_pem), "localhost");
    EXPECT_TRUE(chains_to(ca_pem, server_pem, X509_PURPOSE_SSL_SERVER));
    auto server = parse_cert(server_pem);
    EXPECT_EQ(X509_check_host(server.get(), "localhost", 0, 0, nullptr), 1);
    EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
    EXPECT_NEAR(static_cast<double>(validity_seconds(ca_pem)), 20 * 365 * 86400.0 + 60, 2);
    EXPECT_NEAR(static_cast<double>(validity_seconds(server_pem)), 2 * 365 * 86400.0 + 60, 2);
}

TEST_F(CaIssue, InitRefusesToOverwrite) {
    try {
        Ca::init(ca_dir());
        FAIL() << "an existing CA was overwritten";
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr("a CA already exists"));
    }
}

TEST_F(CaIssue, IssuedCertsChainAndHonourTheLifetime) {
    const auto ca = Ca::open(ca_dir());
    for (const char* lifetime : {"10m", "20y"}) {
        SCOPED_TRACE(lifetime);
        const auto issued = ca.issue("AMR-001", localcore::parse_lifetime(lifetime));
        EXPECT_TRUE(chains_to(ca.ca_cert_pem(), issued.cert_pem, X509_PURPOSE_SSL_CLIENT));
        EXPECT_FALSE(chains_to(ca.ca_cert_pem(), issued.cert_pem, X509_PURPOSE_SSL_SERVER));
        EXPECT_EQ(subject_cn(issued.cert_pem), "AMR-001");
        // notBefore is one minute back for clock skew; notAfter is now + lifetime.
        EXPECT_NEAR(static_cast<double>(validity_seconds(issued.cert_pem)),
                    static_cast<double>(localcore::parse_lifetime(lifetime).count() + 60), 2);
        auto cert = parse_cert(issued.cert_pem);
        EXPECT_LT(X509_cmp_time(X509_get0_notBefore(cert.get()), nullptr), 0);
        EXPECT_THAT(issued.key_pem, HasSubstr("BEGIN PRIVATE KEY"));
    }
}

TEST_F(CaIssue, SerialsAreRandom128Bit) {
    const auto ca = Ca::open(ca_dir());
    auto a = parse_cert(ca.issue("a", std::chrono::minutes(10)).cert_pem);
    auto b = parse_cert(ca.issue("b", std::chrono::minutes(10)).cert_pem);
    EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.get()), X509_get0_serialNumber(b.get())), 0);
    EXPECT_EQ(X509_get0_serialNumber(a.get())->length, 16);
}

TEST_F(CaIssue, SignsAValidCsr) {
    const auto ca = Ca::open(ca_dir());
    KeyPtr key(EVP_EC_gen("P-256"));
    const auto csr = make_csr(key.get(), key.get(), "from-csr");
    const auto kept = ca.sign_csr(csr, std::chrono::hours(1), "");
    EXPECT_EQ(subject_cn(kept), "from-csr");
    EXPECT_TRUE(chains_to(ca.ca_cert_pem(), kept, X509_PURPOSE_SSL_CLIENT));
    auto cert = parse_cert(kept);
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()), 1);
    EXPECT_EQ(subject_cn(ca.sign_csr(csr, std::chrono::hours(1), "AMR-007")), "AMR-007");

    KeyPtr rsa(EVP_RSA_gen(2048));
    EXPECT_TRUE(chains_to(ca.ca_cert_pem(),
                          ca.sign_csr(make_csr(rsa.get(), rsa.get(), "r"), std::chrono::hours(1), ""),
                          X509_PURPOSE_SSL_CLIENT));
}

TEST_F(CaIssue, RejectsBadCsrs) {
    const auto ca = Ca::open(ca_dir());
    const auto expect_rejected = [&](const std::string& csr, const std::string& text) {
        try {
            ca.sign_csr(csr, std::chrono::hours(1), "x");
            ADD_FAILURE() << "accepted a CSR that should fail with: " << text;
        } catch (const Error& e) {
            EXPECT_THAT(e.what(), HasSubstr(text));
        }
    };
    KeyPtr key(EVP_EC_gen("P-256"));
    KeyPtr other(EVP_EC_gen("P-256"));
    expect_rejected(make_csr(key.get(), other.get(), "forged"), "signature does not verify");
    KeyPtr p384(EVP_EC_gen("P-384"));
    expect_rejected(make_csr(p384.get(), p384.get(), "p384"), "use a P-256");
    KeyPtr weak(EVP_RSA_gen(1024));
    expect_rejected(make_csr(weak.get(), weak.get(), "weak"), "has 1024 bits");
    expect_rejected("garbage", "not a valid PEM certificate request");
}

TEST(CaLifetime, ParsesUnitsAndRejectsNonsense) {
    using namespace std::chrono;
    EXPECT_EQ(localcore::parse_lifetime("10m"), minutes(10));
    EXPECT_EQ(localcore::parse_lifetime("30s"), seconds(30));
    EXPECT_EQ(localcore::parse_lifetime("12h"), hours(12));
    EXPECT_EQ(localcore::parse_lifetime("30d"), hours(24 * 30));
    EXPECT_EQ(localcore::parse_lifetime("20y"), hours(24 * 365 * 20));
    for (const char* bad : {"", "m", "10", "10x", "-1d", "1.5y", "0m", "1000y"})
        EXPECT_THROW(localcore::parse_lifetime(bad), Error) << bad;
}

TEST(CaOpen, MissingCaSaysHowToCreateIt) {
    try {
        Ca::open(fs::temp_directory_path() / "localcore-no-such-ca");
        FAIL();
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr("init"));
    }
}

}  // namespace
