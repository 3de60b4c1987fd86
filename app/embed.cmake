# Writes OUT: a C++ file holding the text of IN as ftpsim::app::kDefaultScenarioYaml.
file(READ ${IN} text)
file(WRITE ${OUT} "// Generated from ${IN}; do not edit.\n"
  "namespace ftpsim::app {\n"
  "extern const char* const kDefaultScenarioYaml;\n"
  "extern const char* const kDefaultScenarioName;\n"
  "const char* const kDefaultScenarioYaml = R\"ftpsim_yaml(${text})ftpsim_yaml\";\n"
  "const char* const kDefaultScenarioName = \"${NAME}\";\n"
  "}\n")
