// Component tests run in English whatever the machine's language.
import i18n from "../i18n";

void i18n.changeLanguage("en");
