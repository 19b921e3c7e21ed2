// The OWL API's own checks of an ontology document, for tests/test_owl_profile.py.
//
// Runs with the OWL API 3.4.3 and HermiT 1.3.8 that owlready2 bundles in hermit/HermiT.jar
// (Maven Central is not needed): java -cp HermiT.jar tests/owl/OwlCheck.java MODE FILE
//
//   profile FILE      every OWL 2 RL and OWL 2 DL profile violation, one line each:
//                     "RL<TAB>ViolationClass<TAB>text" / "DL<TAB>…"
//   entities FILE     every IRI with the kinds of entity the OWL API read it as (a line "KINDS<TAB>iri<TAB>k1 k2 …"),
//                     so that punning (one IRI as a class and a property, say) shows
//   consistent FILE   HermiT's consistency check: prints "consistent" or "inconsistent"
//   consistent-ignoring-unsupported-datatypes FILE
//                     the same, HermiT reading literals of datatypes outside the OWL 2 datatype map
//                     (xsd:gYear, xsd:date, ...) as values it knows nothing about (Configuration.ignoreUnsupportedDatatypes)
//
// FILE is RDF/XML or Turtle. Exit status: 0 when the document is in both profiles / consistent,
// 1 when it is not, 2 when it cannot be loaded or reasoned over (the reason on stderr).

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.semanticweb.HermiT.Configuration;
import org.semanticweb.HermiT.Reasoner;
import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.model.OWLEntity;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.model.OWLOntologyManager;
import org.semanticweb.owlapi.profiles.OWL2DLProfile;
import org.semanticweb.owlapi.profiles.OWL2RLProfile;
import org.semanticweb.owlapi.profiles.OWLProfile;
import org.semanticweb.owlapi.profiles.OWLProfileViolation;

public class OwlCheck {
    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: OwlCheck profile|entities|consistent|consistent-ignoring-unsupported-datatypes FILE");
            System.exit(2);
        }
        OWLOntology ontology;
        try {
            OWLOntologyManager manager = OWLManager.createOWLOntologyManager();
            ontology = manager.loadOntologyFromOntologyDocument(new File(args[1]));
        } catch (Exception e) {
            System.err.println("cannot load " + args[1] + ": " + e);
            System.exit(2);
            return;
        }
        switch (args[0]) {
            case "profile" -> System.exit(profile(ontology));
            case "entities" -> System.exit(entities(ontology));
            case "consistent" -> System.exit(consistent(ontology, false));
            case "consistent-ignoring-unsupported-datatypes" -> System.exit(consistent(ontology, true));
            default -> {
                System.err.println("unknown mode " + args[0]);
                System.exit(2);
            }
        }
    }

    static int profile(OWLOntology ontology) {
        List<String> lines = new ArrayList<>();
        report("RL", new OWL2RLProfile(), ontology, lines);
        report("DL", new OWL2DLProfile(), ontology, lines);
        lines.forEach(System.out::println);
        return lines.isEmpty() ? 0 : 1;
    }

    static void report(String name, OWLProfile profile, OWLOntology ontology, List<String> lines) {
        Set<String> seen = new TreeSet<>();
        for (OWLProfileViolation violation : profile.checkOntology(ontology).getViolations()) {
            String text = violation.toString().replaceAll("\\s+", " ").trim();
            seen.add(name + "\t" + violation.getClass().getSimpleName() + "\t" + text);
        }
        lines.addAll(seen);
    }

    static int entities(OWLOntology ontology) {
        Map<String, Set<String>> kinds = new TreeMap<>();
        for (OWLEntity entity : ontology.getSignature()) {
            kinds.computeIfAbsent(entity.getIRI().toString(), k -> new TreeSet<>()).add(entity.getEntityType().getName());
        }
        kinds.forEach((iri, names) -> System.out.println("KINDS\t" + iri + "\t" + String.join(" ", names)));
        return 0;
    }

    static int consistent(OWLOntology ontology, boolean ignoreUnsupportedDatatypes) {
        try {
            Configuration configuration = new Configuration();
            configuration.ignoreUnsupportedDatatypes = ignoreUnsupportedDatatypes;
            Reasoner reasoner = new Reasoner(configuration, ontology);
            boolean consistent = reasoner.isConsistent();
            System.out.println(consistent ? "consistent" : "inconsistent");
            return consistent ? 0 : 1;
        } catch (Exception e) {
            System.err.println("HermiT cannot reason over the ontology: " + e);
            return 2;
        }
    }
}
