// What a gateway update must pass before it is installed: its size, its SHA-256, and a detached
// ECDSA P-256 signature over its bytes by a key in the site's trusted directory. Keys and
// signatures are made here with OpenSSL, as `openssl dgst -sha256 -sign` makes them.
#include "test_support.hpp"
#include "update_test_keys.hpp"

#include <iotgw/core/package_signature.hpp>

#include <iotgw/core/sha256.hpp>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

namespace iotgw::core::update {
namespace {

namespace fs = std::filesystem;

using testkeys::new_key;
using testkeys::PKey;
using testkeys::sign;
using testkeys::write_public_key;

class PackageSignatureTest : public ::testing::Test {
protected:
    void SetUp() override {
        fs::create_directories(keys);
        fs::permissions(keys, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
        write_public_key(site_key.get(), keys / "site-2026.pem");
        content = "!<arch>\ndebian-binary   a package's bytes";
        std::ofstream(package, std::ios::binary) << content;
    }

    PackageClaim claim_for(EVP_PKEY* key) const {
        return PackageClaim{content.size(), sha256_hex(content), sign(key, content)};
    }

    std::string refusal(const PackageClaim& claim) const {
        try {
            verify_package(package.string(), claim, keys.string());
            return "verified";
        } catch (const VerifyError& e) {
            return e.what();
        }
    }

    test::TempDir dir;
    fs::path keys = dir.path() / "update-keys";
    fs::path package = dir.path() / "iotgw_1.4.0_arm64.deb";
    PKey site_key = new_key();
    std::string content;
};

TEST_F(PackageSignatureTest, APackageSignedByATrustedKeyIsVerifiedAndTheKeyNamed) {
    EXPECT_EQ(verify_package(package.string(), claim_for(site_key.get()), keys.string()),
              (keys / "site-2026.pem").string());
    // Upper-case hex and a signature split over lines (base64 -w 64) are the same claim.
    auto claim = claim_for(site_key.get());
    for (char& c : claim.sha256) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    claim.signature.insert(20, "\n");
    EXPECT_EQ(refusal(claim), "verified");
}

TEST_F(PackageSignatureTest, AKeyAmongSeveralVerifies) {
    auto other = new_key();
    write_public_key(other.get(), keys / "old-2025.pem");
    EXPECT_EQ(refusal(claim_for(site_key.get())), "verified");
    EXPECT_EQ(verify_package(package.string(), claim_for(other.get()), keys.string()),
              (keys / "old-2025.pem").string());
}

TEST_F(PackageSignatureTest, ATamperedPackageIsRefusedBySizeOrDigest) {
    const auto claim = claim_for(site_key.get());
    std::ofstream(package, std::ios::binary) << content << "!";
    EXPECT_NE(refusal(claim).find("bytes, not the " + std::to_string(content.size()) + " the job names"),
              std::string::npos)
        << refusal(claim);
    std::string same_size = content;
    same_size[0] = '?';
    std::ofstream(package, std::ios::binary | std::ios::trunc) << same_size;
    EXPECT_NE(refusal(claim).find("SHA-256 is " + sha256_hex(same_size)), std::string::npos)
        << refusal(claim);
}

// The document's digest matches (an attacker who can write the job can write the digest too):
// only the signature tells a package the site trusts from another.
TEST_F(PackageSignatureTest, ASignatureByAKeyTheSiteDoesNotTrustIsRefused) {
    auto stranger = new_key();
    EXPECT_NE(refusal(claim_for(stranger.get()))
                  .find("is not by any trusted update key in " + keys.string() + " (1 tried)"),
              std::string::npos)
        << refusal(claim_for(stranger.get()));
    auto claim = claim_for(site_key.get());
    claim.signature = sign(site_key.get(), content + "x");
    EXPECT_NE(refusal(claim).find("is not by any trusted update key"), std::string::npos) << refusal(claim);
    claim.signature = "not base64!";
    EXPECT_EQ(refusal(claim), "the signature is not base64");
}

TEST_F(PackageSignatureTest, KeysThatCannotBeTrustedAreNamedWithTheReason) {
    fs::remove(keys / "site-2026.pem");
    EXPECT_NE(refusal(claim_for(site_key.get())).find("no trusted update key in " + keys.string()),
              std::string::npos);

    auto p384 = new_key("P-384");
    write_public_key(p384.get(), keys / "p384.pem");
    std::ofstream(keys / "garbage.pem") << "hello\n";
    fs::permissions(keys / "garbage.pem",
                    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    write_public_key(site_key.get(), keys / "loose.pem");
    fs::permissions(keys / "loose.pem", fs::perms::others_write, fs::perm_options::add);
    std::ofstream(keys / "README") << "not a key, not a .pem: not looked at\n";
    const auto loaded = load_trusted_keys(keys.string());
    EXPECT_TRUE(loaded.files.empty());
    ASSERT_EQ(loaded.problems.size(), 3u);
    EXPECT_EQ(loaded.problems[0],
              (keys / "garbage.pem").string() + ": is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
    EXPECT_NE(loaded.problems[1].find("is writable by group or others (mode 0646); chmod go-w"),
              std::string::npos)
        << loaded.problems[1];
    EXPECT_EQ(loaded.problems[2], (keys / "p384.pem").string() + ": is not an ECDSA P-256 key");
    const std::string why = refusal(claim_for(site_key.get()));
    EXPECT_NE(why.find("p384.pem: is not an ECDSA P-256 key"), std::string::npos) << why;
}

TEST_F(PackageSignatureTest, ADirectoryOthersCanWriteTrustsNoKey) {
    fs::permissions(keys, fs::perms::group_write, fs::perm_options::add);
    EXPECT_NE(refusal(claim_for(site_key.get()))
                  .find("no update key is trusted: " + keys.string() +
                        " is writable by group or others (mode 0775)"),
              std::string::npos)
        << refusal(claim_for(site_key.get()));
    EXPECT_THROW(load_trusted_keys((dir.path() / "missing").string()), VerifyError);
}

}  // namespace
}  // namespace iotgw::core::update
