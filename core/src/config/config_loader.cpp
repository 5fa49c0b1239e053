#include <iotgw/core/config_loader.hpp>
#include <iotgw/core/kinds.hpp>

#include "gateway_section.hpp"
#include "instances.hpp"
#include "load_context.hpp"
#include "overlay.hpp"
#include "pipelines.hpp"
#include "start_order.hpp"
#include "text_util.hpp"
#include "toml_util.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <set>
#include <sstream>

namespace iotgw::core {

namespace {

using namespace config_detail;

const std::vector<std::string>& top_level_keys() {
    // "gateway", every kind's table (kinds.hpp) and "pipelines".
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> k{"gateway"};
        for (iotgw_kind kind : all_kinds) k.emplace_back(kind_table(kind));
        k.emplace_back("pipelines");
        return k;
    }();
    return keys;
}

std::optional<std::string> read_file(const std::filesystem::path& file, const std::string& display,
                                     Diagnostics& diags) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        diags.error(SourcePos{display, 0, 0}, std::string("cannot open the file: ") + std::strerror(errno));
        return std::nullopt;
    }
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) {
        diags.error(SourcePos{display, 0, 0}, "cannot read the file");
        return std::nullopt;
    }
    return s.str();
}

// Merges every *.toml of the overlay directory, in lexical order, into `root`.
void apply_overlays(LoadContext& ctx, toml::table& root, const OverlayDir& dir, GatewayConfig& cfg) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir.absolute, ec)) {
        std::error_code type_ec;
        if (e.path().extension() == ".toml" && e.is_regular_file(type_ec)) files.push_back(e.path());
    }
    if (ec) {
        ctx.error(SourcePos{dir.display, 0, 0}, "cannot list the overlay directory: " + ec.message());
        return;
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        std::string display = (std::filesystem::path(dir.display) / file.filename()).string();
        auto text = read_file(file, display, ctx.diags);
        if (!text) continue;
        auto overlay = parse_toml(*text, display, ctx.diags);
        if (!overlay) continue;
        ctx.files.push_back(display);
        ctx.base_dirs[display] = dir.absolute;
        if (toml::table* gw = overlay->get_as<toml::table>("gateway")) {
            if (const toml::node* n = gw->get("overlay_dir")) {
                ctx.error(pos_of(*n), "overlay_dir can only be set in the main config file, not in an overlay");
                gw->erase("overlay_dir");
            }
        }
        merge_overlay(root, *overlay);
        cfg.overlays.push_back(file);
    }
}

void check_top_level(LoadContext& ctx, const toml::table& root) {
    for (const auto& e : ordered_entries(root, ctx.files)) {
        std::string_view key = e.key->str();
        if (std::find(top_level_keys().begin(), top_level_keys().end(), key) == top_level_keys().end())
            report_unknown_key(ctx, pos_of(*e.key, *e.node), key, "the top level", top_level_keys());
    }
}

void load_plugins(LoadContext& ctx, GatewaySettings& gw, const LoadOptions& options) {
    if (options.use_default_plugin_dirs) {
        auto defaults = options.default_plugin_dirs.empty() ? default_plugin_dirs() : options.default_plugin_dirs;
        gw.plugin_dirs.insert(gw.plugin_dirs.end(), defaults.begin(), defaults.end());
    }
    for (const auto& dir : gw.plugin_dirs) {
        // The registry reports its own problems as failures; anything thrown is unexpected.
        try {
            ctx.registry.load_directory(dir);
        } catch (const std::exception& e) {
            ctx.error(SourcePos{dir.string(), 0, 0}, std::string("cannot load plugins: ") + e.what());
        }
    }
    for (const LoadFailure& f : ctx.registry.failures()) {
        if (f.fatal)
            ctx.diags.error(SourcePos{f.origin, 0, 0}, f.message);
        else
            ctx.diags.warning(SourcePos{f.origin, 0, 0}, f.message);
    }
}

void warn_unused(LoadContext& ctx, const std::vector<InstanceDraft>& drafts,
                 std::set<std::string, std::less<>>& used) {
    for (const auto& d : drafts)
        for (const auto& dep : d.config.depends_on) used.insert(dep);
    for (const auto& d : drafts)
        if (used.count(d.config.name) == 0)
            ctx.diags.warning(d.config.where, "instance " + quote_text(d.config.name) + " (" + header(d.config) + ", " +
                                                  place(d.config.where) +
                                                  ") is not used by any pipeline or instance");
}

std::optional<GatewayConfig> load(std::string_view text, const std::filesystem::path& path, PluginRegistry& registry,
                                  Diagnostics& diags, const LoadOptions& options) {
    // Collected apart so that "no errors" means none from this load, whatever `diags` held.
    Diagnostics local;
    LoadContext ctx{local, registry, {}, {}, {}, {}};
    const std::string display = path.string();
    ctx.main_dir = std::filesystem::absolute(path).lexically_normal().parent_path();
    ctx.files.push_back(display);
    ctx.base_dirs[display] = ctx.main_dir;

    GatewayConfig cfg;
    cfg.file = std::filesystem::absolute(path).lexically_normal();
    auto root = parse_toml(text, display, local);
    if (!root) {
        diags.append(local);
        return std::nullopt;
    }
    if (auto dir = read_overlay_dir(ctx, *root, display)) apply_overlays(ctx, *root, *dir, cfg);

    check_top_level(ctx, *root);
    read_gateway(ctx, *root, cfg.gateway);
    load_plugins(ctx, cfg.gateway, options);

    auto drafts = collect_instances(ctx, *root);
    InstanceIndex index;
    for (const auto& d : drafts) index.emplace(d.config.name, &d);
    for (auto& d : drafts) validate_instance(ctx, d, index);

    std::set<std::string, std::less<>> used;
    cfg.pipelines = read_pipelines(ctx, *root, index, used);
    warn_unused(ctx, drafts, used);
    cfg.instances = start_order(ctx, drafts);

    diags.append(local);
    if (local.has_errors()) return std::nullopt;
    return cfg;
}

}  // namespace

std::optional<GatewayConfig> load_config(const std::filesystem::path& file, PluginRegistry& registry,
                                         Diagnostics& diags, const LoadOptions& options) {
    auto text = read_file(file, file.string(), diags);
    if (!text) return std::nullopt;
    return load(*text, file, registry, diags, options);
}

std::optional<GatewayConfig> load_config_text(std::string_view toml_text, const std::filesystem::path& virtual_path,
                                              PluginRegistry& registry, Diagnostics& diags,
                                              const LoadOptions& options) {
    return load(toml_text, virtual_path, registry, diags, options);
}

}  // namespace iotgw::core
