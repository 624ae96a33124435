"""Core's contract suites applied to the supabase components and family."""

from __future__ import annotations

from osiris.testing import ComponentContractTests, ConnectionFamilyContractTests


class TestSupabaseExtractorContract(ComponentContractTests):
    component_name = "supabase.extractor"


class TestSupabaseWriterContract(ComponentContractTests):
    component_name = "supabase.writer"


class TestSupabaseFamilyContract(ConnectionFamilyContractTests):
    family_name = "supabase"
