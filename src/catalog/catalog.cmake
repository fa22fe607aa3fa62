# src/catalog/catalog.cmake — generate the compiled-in event catalog at build time.
#
# Included by src/CMakeLists.txt before the edxbus_catalog layer is defined. It builds the
# host tool edxbus_catalog_gen (tools/catalog_gen.c + the payload-class parser and schema
# generator of src/catalog + src/util), runs it on catalog/openedx_events.classes, and sets
# CATALOG_GENERATED_SOURCES to the C file of tables it writes. Editing the .classes file or the
# generator reruns it; nothing is read from disk at run time.
set(CATALOG_CLASSES ${CMAKE_SOURCE_DIR}/catalog/openedx_events.classes)
set(CATALOG_BUILTIN_C ${EDXBUS_GENERATED_DIR}/catalog_builtin.c)
file(GLOB CATALOG_GEN_UTIL CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/util/*.c)

add_executable(edxbus_catalog_gen
  ${CMAKE_SOURCE_DIR}/tools/catalog_gen.c
  ${CMAKE_SOURCE_DIR}/src/catalog/classes.c
  ${CMAKE_SOURCE_DIR}/src/catalog/classes_type.c
  ${CMAKE_SOURCE_DIR}/src/catalog/classes_schema.c
  ${CATALOG_GEN_UTIL})
target_include_directories(edxbus_catalog_gen PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(edxbus_catalog_gen PRIVATE PkgConfig::JANSSON)

add_custom_command(
  OUTPUT ${CATALOG_BUILTIN_C}
  COMMAND edxbus_catalog_gen ${CATALOG_CLASSES} ${CATALOG_BUILTIN_C} catalog/openedx_events.classes
  DEPENDS edxbus_catalog_gen ${CATALOG_CLASSES}
  COMMENT "Generating the event catalog from catalog/openedx_events.classes"
  VERBATIM)

set(CATALOG_GENERATED_SOURCES ${CATALOG_BUILTIN_C})
