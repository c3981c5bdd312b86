{
  "variables": {
    "sluice_sanitize%": 0
  },
  "targets": [
    {
      "target_name": "sluice",
      "sources": [
        "<!@(bash scripts/lib/native-sources.sh all)"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags": ["<!@(pkg-config --cflags libdpdk libcrypto)", "-fvisibility=hidden"],
      "cflags_cc": [
        "<!@(pkg-config --cflags libdpdk libcrypto)",
        "-std=c++17",
        "-O3",
        # GCC's SLP vectorizer turns pairs of per-packet counter increments
        # (packets, bytes) into a vector load, insert, add and store: 6
        # instructions where 2 adds do (docs/performance-notes.md,
        # "The per-packet path").
        "-fno-tree-slp-vectorize",
        "-fexceptions",
        "-fvisibility=hidden",
        "-Wall",
        "-Wextra",
        "-Wno-missing-field-initializers",
        "-Wno-unused-parameter"
      ],
      # libcrypto: AES for QUIC-LB connection IDs (tables/quic_lb.h).
      "libraries": ["<!@(pkg-config --libs libdpdk)", "<!@(pkg-config --libs libcrypto)", "-lrte_net_ring"],
      "conditions": [
        ["sluice_sanitize==1", {
          "cflags_cc": ["-O1", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer",
                        "-fno-sanitize-recover=undefined"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
