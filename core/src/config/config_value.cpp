// The host-API config accessors. They are called from plugin code through C function
// pointers, so they validate every pointer and never throw.
#include <iotgw/core/config_value.hpp>
#include <iotgw/core/gateway_config.hpp>

namespace iotgw::core {

namespace {

// NOT_FOUND only when the key is absent: the SDK tells presence from TYPE vs NOT_FOUND.
int lookup(const iotgw_config* cfg, const char* key, const ConfigValue** out) noexcept {
    if (cfg == nullptr || key == nullptr) return IOTGW_ERR_FAILED;
    auto it = cfg->values.find(std::string_view(key));
    if (it == cfg->values.end()) return IOTGW_ERR_NOT_FOUND;
    *out = &it->second;
    return IOTGW_OK;
}

template <class T>
const T* typed(const ConfigValue& v) noexcept {
    return std::get_if<T>(&v.data);
}

}  // namespace

int config_string(const iotgw_config* cfg, const char* key, const char** out, size_t* len) {
    const ConfigValue* v = nullptr;
    if (out == nullptr || len == nullptr) return IOTGW_ERR_FAILED;
    if (int rc = lookup(cfg, key, &v); rc != IOTGW_OK) return rc;
    if (v->type != IOTGW_TYPE_STRING && v->type != IOTGW_TYPE_PATH && v->type != IOTGW_TYPE_REF)
        return IOTGW_ERR_TYPE;
    const auto* s = typed<std::string>(*v);
    if (s == nullptr) return IOTGW_ERR_TYPE;
    *out = s->c_str();
    *len = s->size();
    return IOTGW_OK;
}

int config_int(const iotgw_config* cfg, const char* key, int64_t* out) {
    const ConfigValue* v = nullptr;
    if (out == nullptr) return IOTGW_ERR_FAILED;
    if (int rc = lookup(cfg, key, &v); rc != IOTGW_OK) return rc;
    const auto* i = typed<int64_t>(*v);
    if (v->type != IOTGW_TYPE_INT || i == nullptr) return IOTGW_ERR_TYPE;
    *out = *i;
    return IOTGW_OK;
}

int config_double(const iotgw_config* cfg, const char* key, double* out) {
    const ConfigValue* v = nullptr;
    if (out == nullptr) return IOTGW_ERR_FAILED;
    if (int rc = lookup(cfg, key, &v); rc != IOTGW_OK) return rc;
    if (v->type == IOTGW_TYPE_FLOAT) {
        if (const auto* d = typed<double>(*v)) {
            *out = *d;
            return IOTGW_OK;
        }
    } else if (v->type == IOTGW_TYPE_INT) {
        if (const auto* i = typed<int64_t>(*v)) {
            *out = static_cast<double>(*i);
            return IOTGW_OK;
        }
    }
    return IOTGW_ERR_TYPE;
}

int config_bool(const iotgw_config* cfg, const char* key, int* out) {
    const ConfigValue* v = nullptr;
    if (out == nullptr) return IOTGW_ERR_FAILED;
    if (int rc = lookup(cfg, key, &v); rc != IOTGW_OK) return rc;
    const auto* b = typed<bool>(*v);
    if (v->type != IOTGW_TYPE_BOOL || b == nullptr) return IOTGW_ERR_TYPE;
    *out = *b ? 1 : 0;
    return IOTGW_OK;
}

int config_duration_ms(const iotgw_config* cfg, const char* key, int64_t* out) {
    const ConfigValue* v = nullptr;
    if (out == nullptr) return IOTGW_ERR_FAILED;
    if (int rc = lookup(cfg, key, &v); rc != IOTGW_OK) return rc;
    const auto* ms = typed<int64_t>(*v);
    if (v->type != IOTGW_TYPE_DURATION || ms == nullptr) return IOTGW_ERR_TYPE;
    *out = *ms;
    return IOTGW_OK;
}

namespace {
int array_of(const iotgw_config* cfg, const char* key, const std::vector<std::string>** out) noexcept {
    const ConfigValue* v = nullptr;
    if (int rc = lookup(cfg, key, &v); rc != IOTGW_OK) return rc;
    const auto* a = typed<std::vector<std::string>>(*v);
    if ((v->type != IOTGW_TYPE_STRING_ARRAY && v->type != IOTGW_TYPE_REF_ARRAY) || a == nullptr)
        return IOTGW_ERR_TYPE;
    *out = a;
    return IOTGW_OK;
}

int map_of(const iotgw_config* cfg, const char* key, const StringMap** out) noexcept {
    const ConfigValue* v = nullptr;
    if (int rc = lookup(cfg, key, &v); rc != IOTGW_OK) return rc;
    const auto* m = typed<StringMap>(*v);
    if (v->type != IOTGW_TYPE_STRING_MAP || m == nullptr) return IOTGW_ERR_TYPE;
    *out = m;
    return IOTGW_OK;
}
}  // namespace

int config_array_size(const iotgw_config* cfg, const char* key, size_t* out) {
    const std::vector<std::string>* a = nullptr;
    if (out == nullptr) return IOTGW_ERR_FAILED;
    if (int rc = array_of(cfg, key, &a); rc != IOTGW_OK) return rc;
    *out = a->size();
    return IOTGW_OK;
}

int config_array_string(const iotgw_config* cfg, const char* key, size_t index, const char** out, size_t* len) {
    const std::vector<std::string>* a = nullptr;
    if (out == nullptr || len == nullptr) return IOTGW_ERR_FAILED;
    if (int rc = array_of(cfg, key, &a); rc != IOTGW_OK) return rc;
    if (index >= a->size()) return IOTGW_ERR_NOT_FOUND;
    *out = (*a)[index].c_str();
    *len = (*a)[index].size();
    return IOTGW_OK;
}

int config_map_size(const iotgw_config* cfg, const char* key, size_t* out) {
    const StringMap* m = nullptr;
    if (out == nullptr) return IOTGW_ERR_FAILED;
    if (int rc = map_of(cfg, key, &m); rc != IOTGW_OK) return rc;
    *out = m->size();
    return IOTGW_OK;
}

int config_map_entry(const iotgw_config* cfg, const char* key, size_t index, const char** map_key,
                     const char** value) {
    const StringMap* m = nullptr;
    if (map_key == nullptr || value == nullptr) return IOTGW_ERR_FAILED;
    if (int rc = map_of(cfg, key, &m); rc != IOTGW_OK) return rc;
    if (index >= m->size()) return IOTGW_ERR_NOT_FOUND;
    *map_key = (*m)[index].first.c_str();
    *value = (*m)[index].second.c_str();
    return IOTGW_OK;
}

const InstanceConfig* GatewayConfig::instance(const std::string& name) const noexcept {
    for (const auto& i : instances)
        if (i.name == name) return &i;
    return nullptr;
}

}  // namespace iotgw::core
