# Sourced by the SDK's integration tests: the SDK installed from the build tree and an example
# under sdk/examples built out of tree against it, as a third party does. Uses the caller's
# $cmake, $cxx, $build_dir, $source_dir, $tmp and its fail().

# install_sdk: `cmake --install` of the build tree into $tmp/prefix.
install_sdk() {
    "$cmake" --install "$build_dir" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 || {
        cat "$tmp/install.log"
        fail "cmake --install failed"
    }
}

# build_example <name>: configures and builds sdk/examples/<name> against $tmp/prefix and copies
# its libiotgw-<name>.so into $tmp/plugins.
build_example() {
    local name=$1
    "$cmake" -S "$source_dir/sdk/examples/$name" -B "$tmp/$name-build" \
        -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo ||
        fail "configuring sdk/examples/$name against the installed SDK failed"
    "$cmake" --build "$tmp/$name-build" || fail "building sdk/examples/$name failed"
    mkdir -p "$tmp/plugins"
    local so
    so=$(find "$tmp/$name-build" -maxdepth 2 -name "libiotgw-$name.so" | head -n 1)
    [[ -n $so ]] || fail "the build of sdk/examples/$name made no libiotgw-$name.so"
    cp "$so" "$tmp/plugins/"
}
