# Included by tests/integration/CMakeLists.txt for each NATS test program (${target}): the tests
# read NATS messages back with libnats itself, against a nats-server each test starts.
target_link_libraries(${target} PRIVATE PkgConfig::NATS Threads::Threads)

# Once: the test that drives the real edxbus command against a nats-server of its own.
if(NOT TARGET nats_cli_registered)
  add_custom_target(nats_cli_registered)
  add_test(NAME integration/nats/test_nats_cli
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_nats_cli.sh $<TARGET_FILE:edxbus>
           WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(integration/nats/test_nats_cli PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
endif()
