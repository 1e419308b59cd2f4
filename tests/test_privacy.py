"""The one direct-identifier rule (iopkit/privacy.py + iopkit/identifiers.yaml).

Categories follow HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(A)–(R); iopkit keeps a limited
data set (45 CFR 164.514(e)): pseudonymous ids, birth year and service dates.
"""

from __future__ import annotations

import pytest

from iopkit.data.schemas import TABLES
from iopkit.errors import InputError
from iopkit.privacy import check_identifiers, identifier_category, is_direct_identifier, name_tokens

#: spellings seen in real exports (EHR, REDCap, spreadsheets), with their Safe Harbor letter
REFUSED = {
    "A": ["first_name", "FirstName", "last_name", "LastName", "surname", "Surname", "forename",
          "full_name", "PatientName", "patient_name", "name", "Name", "given_name", "family_name",
          "middle_name", "maiden_name", "pt_name", "client_name", "name_of", "initials",
          "NAME_LAST", "nickname"],
    "B": ["address", "home_address", "Addr1", "addr_line_2", "street", "StreetAddress", "city",
          "county", "zip", "ZIP", "zip_code", "ZipCode", "postcode", "postal_code", "PostalCode"],
    "C": ["dob", "DOB", "D.O.B.", "PtDOB", "date_of_birth", "DateOfBirth", "birth_date",
          "BirthDate", "birthdate", "birthday", "birth_dt", "date_of_death", "death_date"],
    "D": ["phone", "Phone", "tel", "Tel.", "telephone", "HomePhone", "PhoneNo", "phone1",
          "phone_number", "mobile", "MobileNumber", "cell_phone", "cellphone", "work_no",
          "home_tel"],
    "E": ["fax", "FaxNumber"],
    "F": ["email", "Email", "e-mail", "E_Mail", "EmailAddr", "email_address", "mail"],
    "G": ["ssn", "SSN", "SocialSecurityNumber", "social_security_no", "passport", "nino"],
    "H": ["mrn", "MRN", "MedRecNo", "medical_record_number", "nhs_number", "NHSNumber",
          "chart_no", "hospital_number", "patient_no"],
    "I": ["insurance_id", "InsuranceID", "member_id", "MemberNo", "subscriber_id",
          "policy_number", "medicaid_number", "medicare_no"],
    "J": ["account_number", "acct_no", "AccountNo"],
    "K": ["license", "drivers_licence", "certificate_no"],
    "L": ["vin", "licence_plate"],
    "M": ["device_serial", "serial_number", "imei"],
    "N": ["url", "website"],
    "O": ["ip_address", "IPAddress", "ipv4"],
    "P": ["fingerprint", "biometric_id"],
    "Q": ["photo", "photo_path", "picture"],
    "R": ["username", "login", "emergency_contact_name", "guardian_phone"],
}

#: pseudonymous keys, contract columns and report headers that must pass
ALLOWED = ["patient_id", "episode_id", "cohort_id", "program_id", "program_name", "skill_name",
           "scale_name", "birth_year", "admit_date", "discharge_date", "facilitator",
           "facilitators", "goal_no", "goal", "note", "other_concerns", "referral_source",
           "redcap_event_name", "redcap_repeat_instance", "total", "band", "safety_flag",
           "hidden_cells", "Small cell", "ip_days", "week", "planned_weeks", "status",
           "Episodes in care", "n_attended", "phq9_item9_flag", "weekday_name",
           "event_name", "Skill name", "module_name"]


def test_at_least_sixty_spellings_refused_with_their_category() -> None:
    cases = [(code, name) for code, names in REFUSED.items() for name in names]
    assert len(cases) >= 60
    wrong = [(c, n) for c, n in cases if identifier_category(n) is None]
    assert not wrong, f"not refused: {wrong}"
    # the category found is the one intended (first match, categories in Safe Harbor order)
    assert identifier_category("PtDOB").code == "C"
    assert identifier_category("MedRecNo").code == "H"
    assert identifier_category("HomePhone").code == "D"


@pytest.mark.parametrize("name", ALLOWED)
def test_pseudonymous_and_contract_columns_pass(name: str) -> None:
    assert not is_direct_identifier(name)


def test_every_contract_column_passes_in_its_table() -> None:
    for table, schema in TABLES.items():
        for col in schema.columns:
            assert not is_direct_identifier(col.name, table), (table, col.name)


def test_table_specific_exception() -> None:
    assert not is_direct_identifier("name", "cohorts")  # a cohort's name
    assert is_direct_identifier("name", "patients")
    assert is_direct_identifier("name")


def test_tokens() -> None:
    assert name_tokens("PtDOB") == ["pt", "dob"]
    assert name_tokens("SocialSecurityNumber") == ["social", "security", "number"]
    assert name_tokens("D.O.B.") == ["d", "o", "b"]
    assert name_tokens("phone1") == ["phone"]


def test_check_identifiers_names_every_file_and_column() -> None:
    with pytest.raises(InputError) as err:
        check_identifiers({"patients.csv": ("patients", ["patient_id", "PtDOB", "HomePhone"]),
                           "events.csv": ("events", ["episode_id", "note"])})
    e = err.value
    assert e.file == "patients.csv" and e.column == "PtDOB" and e.rule == "direct_identifier"
    assert "'PtDOB'" in e.message and "'HomePhone'" in e.message and "164.514" in e.message
    check_identifiers({"events.csv": ("events", ["episode_id", "note"])})  # no error


# --- free text ----------------------------------------------------------------------------------
from iopkit.privacy import find_identifiers_in_text, redact_text  # noqa: E402


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Call Jane on 555-867-5309 or jane.doe@example.com",
         ["telephone number", "email address"]),
        ("(555) 867 5309", ["telephone number"]),
        ("+1 555 867 5309", ["telephone number"]),
        ("+44 20 7946 0958 or 07700900123", ["telephone number", "telephone number"]),
        ("SSN 123-45-6789", ["social security number"]),
        ("DOB: 03/14/1980", ["date of birth"]),
        ("born on 14 March 1980", ["date of birth"]),
        ("date of birth 1980-03-14", ["date of birth"]),
        ("Practise 3 times a week for 20-30 minutes by 2025-03-01", []),
        ("PHQ-9 item 9 = 2; walk 10,000 steps", []),
    ],
)
def test_identifiers_in_free_text(text: str, kinds: list[str]) -> None:
    assert [f.kind for f in find_identifiers_in_text(text)] == kinds


def test_redaction_keeps_the_rest_of_the_text() -> None:
    text, found = redact_text("Call 555-867-5309 before group")
    assert text == "Call [redacted telephone number] before group" and len(found) == 1


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://iop:s3cret@db.example/iop", "postgresql://iop:***@db.example/iop"),
        ("postgresql://iop:s3cr@t@db/iop", "postgresql://iop:***@db/iop"),
        ("mysql+pymysql://u:p:w/x@h:5432/d?x=1", "mysql+pymysql://u:***@h:5432/d?x=1"),
        ("see 'postgresql://a:b@c@h/d' and mysql://c:d@e/f.", "see 'postgresql://a:***@h/d' and mysql://c:***@e/f."),
        ("postgresql://u@h/d", "postgresql://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_redact_url_hides_every_password_whole(text: str, shown: str) -> None:
    from iopkit.privacy import has_url_password, redact_url

    assert redact_url(text) == shown
    assert has_url_password(text) == (shown != text)
